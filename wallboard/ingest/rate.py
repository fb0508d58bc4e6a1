"""The rate limit of an ingest source: a token bucket (pure, the caller gives the time)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    """``rate`` events a second, at most ``burst`` at once; ``level`` is what may pass now, as of ``at``."""

    rate: float
    burst: float
    level: float
    at: float

    @classmethod
    def full(cls, rate: float, burst: int, now: float) -> TokenBucket:
        """A bucket that lets a whole burst through at ``now``."""
        return cls(rate, float(burst), float(burst), now)

    def take(self, n: int, now: float) -> float:
        """0 if ``n`` (at most ``burst``) events may pass now (and takes them), else seconds until they could."""
        self.level = min(self.burst, self.level + (now - self.at) * self.rate)
        self.at = now
        if self.level >= n:
            self.level -= n
            return 0.0
        return (n - self.level) / self.rate
