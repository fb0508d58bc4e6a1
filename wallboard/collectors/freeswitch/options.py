"""The ``options:`` of a ``freeswitch`` collector in config.yaml, validated once where a process starts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Options(BaseModel):
    """``options:`` of a ``freeswitch`` collector."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8021, ge=1, le=65535)
    password: str = Field(min_length=1, repr=False)  # from the environment: ${FS_PASSWORD}
    keepalive_s: float = Field(default=20, gt=0)
    timeout_s: float = Field(default=10, gt=0)
    connect_timeout_s: float = Field(default=5, gt=0)
