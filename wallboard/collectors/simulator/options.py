"""``options:`` of a ``simulator`` collector: the centre's demand, handling and pacing."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Options(BaseModel):
    """``options:`` of a ``simulator`` collector."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 7
    speed: float = Field(default=1.0, gt=0, le=10_000)
    backfill: bool = True
    calls_per_hour: dict[str, float] = {}
    default_calls_per_hour: float = Field(default=45.0, ge=0)
    talk_s: float = Field(default=200.0, gt=0)
    wrap_s: float = Field(default=20.0, ge=0)
    hold_probability: float = Field(default=0.15, ge=0, le=1)
    transfer_probability: float = Field(default=0.03, ge=0, le=1)
    patience_s: float = Field(default=80.0, gt=0)
    max_wait_s: float = Field(default=420.0, gt=0)
    shift_hours: float = Field(default=8.0, gt=0, le=24)
    batch: int = Field(default=2_000, ge=1)
