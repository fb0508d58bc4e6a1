"""A batch's events checked one by one (pure): the events, or every problem with where it is."""

from __future__ import annotations

from typing import Any

from wallboard.events import AnyEvent
from wallboard.ingest.admission import Admission
from wallboard.wire import EventError, decode


def _printable(text: str) -> str:
    """``text`` as UTF-8 can carry it: a lone surrogate shown as its escape (``\\ud800``)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _not_unicode(item: dict[Any, Any]) -> str | None:
    """The first field of ``item`` whose name or text value is not valid Unicode (a lone surrogate)."""
    for key, value in item.items():
        for text in (key, value):
            if isinstance(text, str):
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    return _printable(key)
    return None


def validate(
    raw: list[Any], source: str, admission: Admission | None = None, now: float = 0.0
) -> tuple[list[AnyEvent], list[dict[str, Any]]]:
    """The events of ``raw`` (a request's ``events`` list) as sent by ``source``, and one error
    ``{"index", "id", "field", "reason"}`` per item that is not a valid event (or that
    ``admission`` refuses at ``now``). Never raises: any JSON value gets an answer."""
    events: list[AnyEvent] = []
    errors: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        eid = item.get("id") if isinstance(item, dict) else None
        try:
            if not isinstance(item, dict):
                raise EventError("(event)", "must be a JSON object")
            bad = _not_unicode(item)
            if bad is not None:
                if isinstance(eid, str) and _not_unicode({"id": eid}) is not None:
                    eid = None  # (the reply could not carry it)
                raise EventError(bad, "is not valid Unicode text (a lone surrogate such as \\ud800)")
            if "kind" not in item:  # (and never the stream's packed form: it would bypass the checks)
                raise EventError("kind", "is missing")
            given = item.get("source")
            if given is not None and given != source:
                raise EventError("source", f"must be {source!r} (the token's source) or left out", given)
            if not isinstance(eid, str) or not eid:
                raise EventError("id", "must be a non-empty text (your own unique id: retries reuse it)", eid)
            data = {**item, "source": source, "id": f"{source}:{eid}"}
            event = decode(data, allow_unknown=False)
            if admission is not None:
                admission.check(event, now)
            events.append(event)
        except EventError as exc:
            errors.append(
                {
                    "index": i,
                    "id": eid if isinstance(eid, str) else None,
                    "field": exc.field,
                    "reason": str(exc).split(": ", 1)[1],
                }
            )
    return events, errors
