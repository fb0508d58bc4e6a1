"""``options:`` of a ``simulator`` collector: the centre's demand, handling, roster and pacing."""

from __future__ import annotations

from typing import Literal

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
    #: A full shift; the roster also makes part-time shifts of three quarters and half of it.
    shift_hours: float = Field(default=8.0, ge=1, le=12)
    #: Share of a rostered agent's time off the phones (breaks, lunch, training, late log-ins).
    shrinkage: float = Field(default=0.25, ge=0, le=0.6)
    #: How the roster turns calls into agents: Erlang A (callers hang up, ``patience_s``) or Erlang C.
    staffing_model: Literal["erlang_a", "erlang_c"] = "erlang_a"
    #: A demand surge at 11:00 and a team meeting at 15:30 every day (the bad intervals).
    incidents: bool = True
    batch: int = Field(default=2_000, ge=1)
