"""The configured names of a source's agents and pause reasons, looked up one way for every source.

``agents:`` in config.yaml gives each agent id its aliases (``PJSIP/201``,
``1001@default``), ``pause_reasons:`` each reason code the pause texts that
mean it (case-folded by the config).
"""

from __future__ import annotations

from collections.abc import Mapping


def alias(aliases: Mapping[str, str], *names: str) -> str | None:
    """The agent id of the first of ``names`` (in order of preference) that is configured; None if none is."""
    for name in names:
        if name and name in aliases:
            return aliases[name]
    return None


def pause_code(codes: Mapping[str, str], *texts: str, default: str) -> str:
    """The reason code configured for the first of ``texts`` that has one, else ``default``."""
    for text in texts:
        code = codes.get(text.casefold())
        if code:
            return code
    return default
