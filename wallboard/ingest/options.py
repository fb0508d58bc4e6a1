"""The options of an ``http`` collector (one ingest source), and which sources the web process serves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from wallboard.collectors import Configured


class Options(BaseModel):
    """``options:`` of an ``http`` collector."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Bearer tokens for this source (more than one lets a token be rotated without downtime).
    tokens: tuple[str, ...] = Field(min_length=1)
    max_batch: int = Field(default=1_000, ge=1, le=100_000)
    max_body_bytes: int = Field(default=1_048_576, ge=1_024)
    #: Sustained events per second for this source, and the burst above it.
    rate_per_s: float = Field(default=2_000.0, gt=0)
    burst: int = Field(default=20_000, ge=1)
    #: How long an accepted id is remembered (0: not at all; the fold still drops repeats within an hour).
    dedup_hours: float = Field(default=3.0, ge=0, le=24 * 7)
    #: At most this many ids are remembered (about 60 bytes each in Redis); when full, the oldest quarter goes.
    dedup_max_ids: int = Field(default=2_000_000, ge=1_000, le=100_000_000)
    #: Serve the API alone on this port (``wallboard collect``); empty: the web process serves it.
    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=1, le=65535)

    @field_validator("tokens")
    @classmethod
    def _strong(cls, tokens: tuple[str, ...]) -> tuple[str, ...]:
        for i, token in enumerate(tokens):
            if len(token) < 16:
                raise ValueError(
                    f"token {i} is shorter than 16 characters (set it from the environment, e.g. ${{API_TOKEN}})"
                )
        return tokens


def served_by_web(collectors: Sequence[Configured]) -> list[Configured]:
    """The enabled ``http`` collectors the web process serves (those without their own port)."""
    return [c for c in collectors if c.spec.enabled and isinstance(c.options, Options) and c.options.port is None]
