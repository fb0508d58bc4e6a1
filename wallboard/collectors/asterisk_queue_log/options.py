"""``options:`` of an ``asterisk_queue_log`` collector: which file, and how it is followed."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from wallboard.collectors.common.limits import MAX_LINE


class Options(BaseModel):
    """``options:`` of an ``asterisk_queue_log`` collector."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: Path
    #: On the first start, emit today's lines already in the file (else start at its end).
    load_today: bool = True
    poll_s: float = Field(default=0.1, gt=0, le=10)
    max_line_bytes: int = Field(default=MAX_LINE, ge=256)
    batch_lines: int = Field(default=5_000, ge=1)
    #: After logrotate renames the file, how long the old one is still read once quiet
    #: (Asterisk writes to it until its logger reloads, in logrotate's postrotate).
    rotate_grace_s: float = Field(default=30.0, ge=0, le=3600)
