"""Logs: the text form as before, and the JSON form (one object a line) with no more in it."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime

import pytest

from wallboard import logs


@pytest.fixture(autouse=True)
def _restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_time_level_logger_pid_message_exception_and_extra() -> None:
    out = io.StringIO()
    logs.setup("INFO", "json", out)
    log = logging.getLogger("wallboard.test")
    log.info("queue %s has %d waiting", "ventas", 3, extra={"source": "pbx1"})
    log.debug("not at INFO")
    try:
        raise KeyError("boom")
    except KeyError:
        log.exception("failed")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "INFO" and first["logger"] == "wallboard.test" and first["pid"] == os.getpid()
    assert first["message"] == "queue ventas has 3 waiting" and first["source"] == "pbx1"
    assert first["time"].endswith("Z") and datetime.fromisoformat(first["time"].replace("Z", "+00:00")).tzinfo
    assert set(first) == {"time", "level", "logger", "pid", "message", "source"}  # nothing else of the record
    assert second["level"] == "ERROR" and "KeyError: 'boom'" in second["exception"]
    assert "Traceback" in second["exception"]


def test_text_is_todays_format_and_bad_choices_are_named() -> None:
    out = io.StringIO()
    logs.setup("warning", "text", out)
    logging.getLogger("wallboard.x").warning("hello %s", "there")
    line = out.getvalue().strip()
    assert line.endswith(f"WARNING wallboard.x[{os.getpid()}]: hello there")
    with pytest.raises(ValueError, match="log format must be one of text, json, got 'xml'"):
        logs.setup("INFO", "xml")
    with pytest.raises(ValueError, match="log level must be"):
        logs.setup("LOUD", "json")


def test_a_process_logging_json_writes_only_json_lines() -> None:
    """A real process set up for JSON: every line of its stderr parses, a non-JSON value is a string."""
    code = (
        "import logging; from wallboard import logs; logs.setup('INFO', 'json');"
        "logging.getLogger('wallboard.p').warning('a %s', object(), extra={'n': 2, 'odd': {1, 2}})"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    records = [json.loads(line) for line in done.stderr.splitlines()]
    assert len(records) == 1 and records[0]["n"] == 2 and records[0]["message"].startswith("a <object")
    assert isinstance(records[0]["odd"], str)
