"""The JSON Schema (2020-12) of an ingest request body, made from the event definitions themselves.

``python -m wallboard.ingest.schema > docs/ingest.schema.json`` writes the published copy.
"""

from __future__ import annotations

import json
from typing import Any

from wallboard.ingest import PATH
from wallboard.wire import event_schemas


def json_schema() -> dict[str, Any]:
    """The schema of a batch: every event kind, with ``source`` optional (the token names it)."""
    variants = []
    for variant in event_schemas().values():
        props = {**variant["properties"], "source": {"type": "string", "description": "optional: the token's source"}}
        variants.append({**variant, "properties": props, "required": [r for r in variant["required"] if r != "source"]})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"wallboard ingest batch (POST {PATH})",
        "type": "object",
        "properties": {"events": {"type": "array", "minItems": 1, "items": {"oneOf": variants}}},
        "required": ["events"],
        "additionalProperties": True,
    }


if __name__ == "__main__":
    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
