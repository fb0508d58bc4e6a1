"""``options:`` of an ``asterisk_queue_log`` collector: which file, and how it is followed."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wallboard.collectors.common.limits import MAX_LINE
from wallboard.wire import MAX_TEXT


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
    #: Static members (``member =>`` in queues.conf), by queue: Asterisk logs no line when they
    #: join, so without this they show logged out until their first line. Each named as the log
    #: names it (interface or member name; through the agents' aliases).
    static_members: dict[str, tuple[str, ...]] = {}
    #: The PBX's name, the same in its AMI collector: a call's events then get the same ids from
    #: both, and each is counted once ("": ids of this source's own, from the lines).
    system: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9_.-]*$")

    @field_validator("static_members")
    @classmethod
    def _static_members(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        # A member's name is not quoted (it may be a person's): its position is.
        for queue, members in value.items():
            if not queue or queue == "NONE" or len(queue) > MAX_TEXT:
                raise ValueError(f"a queue name must be 1 to {MAX_TEXT} characters and not NONE, got {queue!r}")
            for i, name in enumerate(members, 1):
                if not name or name == "NONE" or len(name) > MAX_TEXT:
                    raise ValueError(f"queue {queue!r}, member {i}: must be 1 to {MAX_TEXT} characters and not NONE")
                if name in members[: i - 1]:
                    raise ValueError(f"queue {queue!r}, member {i}: listed twice")
        return value
