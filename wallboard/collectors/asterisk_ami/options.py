"""The ``options:`` of an ``asterisk_ami`` collector in config.yaml, validated once where a process starts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Options(BaseModel):
    """``options:`` of an ``asterisk_ami`` collector."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=5038, ge=1, le=65535)
    username: str = Field(min_length=1)
    #: Write ``${AMI_SECRET}`` in config.yaml: the secret comes from the environment.
    secret: str = Field(repr=False)
    ping_s: float = Field(default=20.0, gt=0, le=3600)
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    connect_timeout_s: float = Field(default=5.0, gt=0, le=600)
    #: How long an unanswered leave waits for the evidence that decides its outcome.
    outcome_grace_s: float = Field(default=3.0, ge=0, le=60)
    #: The PBX's name, the same in its queue_log collector: a call's events then get the same ids
    #: from both, and each is counted once ("": ids of this source's own).
    system: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9_.-]*$")

    @field_validator("username", "secret")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\r" in value or "\n" in value:
            raise ValueError("must not contain line breaks")
        return value
