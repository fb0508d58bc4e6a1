"""Logging of every process: the text form for people, or one JSON object a line for log shippers.

:func:`setup` is called once where a process starts (the caller reads ``$WALLBOARD_LOG_FORMAT``).
A JSON line holds exactly what the text line holds — the time (ISO 8601, UTC), the level, the
logger, the process id, the message with its arguments filled in, the exception's traceback if
any — plus the ``extra={...}`` fields a call passes. Nothing else of the record goes out (not the
arguments apart from the message, not the path of the source file): no more data than the text form.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

FORMATS = ("text", "json")
ENV_FORMAT = "WALLBOARD_LOG_FORMAT"
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s[%(process)d]: %(message)s"

#: Attributes every LogRecord has: anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time``, ``level``, ``logger``, ``pid``, ``message``, then
    ``exception`` (its traceback) and ``stack`` when there are, then the ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        if record.exc_info:
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in out and not key.startswith("_"):
                out[key] = value
        return json.dumps(out, ensure_ascii=False, default=str, separators=(",", ":"))


def formatter(fmt: str = "text") -> logging.Formatter:
    """The formatter of ``fmt`` (``text`` or ``json``); ValueError names the choices."""
    if fmt == "text":
        return logging.Formatter(TEXT_FORMAT)
    if fmt == "json":
        return JsonFormatter()
    raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r} (${ENV_FORMAT})")


def setup(level: str, fmt: str = "text", stream: TextIO | None = None) -> logging.Handler:
    """Log at ``level`` (DEBUG, INFO, WARNING, ERROR) in ``fmt`` to ``stream`` (stderr), replacing
    the root logger's handlers; the handler. ValueError for an unknown level or format."""
    chosen = formatter(fmt.strip().lower())
    name = level.strip().upper()
    if name not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError(f"log level must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(chosen)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(name)
    return handler
