"""Staffing now: the agents a queue needs to meet its service-level target, by Erlang C and Erlang A.

Pure math over the numbers a snapshot already has: the arrival rate λ (calls/s) and
the AHT (s) of a recent window give the traffic A = λ·AHT in Erlangs; the queue's
threshold T (s) and target (%) give the service level to meet. Nothing here reads
Redis, the clock or the configuration.

**Erlang C** (M/M/N, callers never hang up): with N agents, P(wait) = C(N, A) and
SL(T) = 1 − C(N, A)·e^(−(N−A)·T/AHT); the queue is stable only for N > A. Needed =
the smallest N with SL(T) ≥ target. Every one of the wallboard's six SL formulas is
the same number here (no caller abandons).

**Erlang A** (Palm's M/M/N+M: exponential patience of mean θ⁻¹ = ``patience_s``),
after Garnett, Mandelbaum & Reiman (2002), "Designing a call center with impatient
customers", Manufacturing & Service Operations Management 4(3):208–227, and the
closed forms in Mandelbaum & Zeltyn (2007), "Service engineering in action: the
Palm/Erlang-A queue, with applications to call centers". Callers who wait too long hang up, so the queue is stable for
every N and abandonment is finite even for N ≤ A. Its service level is per offered
call, as the wallboard counts calls: P(answered and wait ≤ T), P(abandoned and wait
≤ T), … are computed for one arriving call, and :meth:`ErlangA.service_level` puts
them in the numerator and denominator of the queue's own ``sl_formula`` (the
``offered`` formula, A≤T / (A + Ab), is P(answered within T); ``answered``, A≤T / A, is
P(wait ≤ T | answered); ``sl2_hangups`` is P(wait ≤ T) with the wait ending in an
answer or a hang-up; …), so the model's SL is the same number the screen shows. No
other exits are modelled: ``asterisk_sl2`` equals ``sl2_hangups``.

Patience is estimated from the window by :func:`patience_estimate`: (waits of all
calls, answered and abandoned) / abandons. That is the maximum-likelihood estimate of
an exponential patience when answered calls are censored observations (the caller
was still patient when answered); in Erlang A it is exact in expectation, since
P(Ab) = θ·E[wait] (Mandelbaum & Zeltyn). The mean wait of abandoned calls is *not*
the patience: it only sees the callers impatient enough to hang up before an answer,
so in a well-staffed queue it is short however patient callers are.

The gap the wallboard shows is :func:`gap`: needed − staffed.

Costs (bench/staffing.py, one core): a typical queue (λ = 0.05–2 calls/s, AHT
180–400 s) costs 10–170 µs by Erlang C and 70 µs–1 ms by Erlang A, growing with the
agents (the Erlang B recursion is one step per agent); answers are remembered by their
exact inputs, so asking again with an unchanged window costs about a microsecond.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from wallboard.kpi import SL_FORMULAS, SLFormula

__all__ = [
    "ErlangA",
    "Model",
    "Staffing",
    "agents_needed",
    "agents_needed_erlang_a",
    "asa",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "gap",
    "occupancy",
    "patience_estimate",
    "queue_staffing",
    "service_level",
]

Model = Literal["erlang_c", "erlang_a"]

#: Agents :func:`agents_needed` looks at, at most, by default.
MAX_AGENTS = 2000
#: Answers remembered (by their exact inputs): a snapshot asks every second, and a
#: window's λ, AHT and patience change only when a call's outcome enters or leaves it.
_CACHED = 1024


# --- Erlang B and C -------------------------------------------------------------------------


def _check_load(n: int, a: float) -> None:
    if n < 0:
        raise ValueError(f"agents must be ≥ 0, not {n}")
    if not (a >= 0 and math.isfinite(a)):
        raise ValueError(f"traffic must be finite and ≥ 0 Erlangs, not {a}")


def erlang_b(n: int, a: float) -> float:
    """Erlang B: blocking probability of N servers offered A Erlangs, by the stable recursion.

    B(0) = 1, B(k) = A·B(k−1) / (k + A·B(k−1)): every step is a ratio of positive numbers
    below 1, so it neither overflows nor loses precision for thousands of servers (the
    textbook A^N/N! over a factorial sum overflows a float past N ≈ 170).
    """
    _check_load(n, a)
    b = 1.0
    for k in range(1, n + 1):
        ab = a * b
        b = ab / (k + ab)
    return b


def _c_from_b(n: int, a: float, b: float) -> float:
    return n * b / (n - a * (1.0 - b))


def erlang_c(n: int, a: float) -> float:
    """Erlang C: P(wait > 0) with N agents and A Erlangs, C = N·B / (N − A·(1 − B)) from Erlang B.

    1.0 when N ≤ A (no stable queue: every caller waits, and waits grow without end);
    0.0 when A = 0 (no calls).
    """
    _check_load(n, a)
    if a == 0:
        return 0.0
    if n <= a:
        return 1.0
    return _c_from_b(n, a, erlang_b(n, a))


def _sl_c(n: int, a: float, c: float, aht_s: float, threshold_s: float) -> float:
    return 1.0 - c * math.exp(-(n - a) * threshold_s / aht_s)


def service_level(n: int, a: float, aht_s: float, threshold_s: float) -> float:
    """Erlang C service level, a fraction: P(wait ≤ T) = 1 − C(N, A)·e^(−(N−A)·T/AHT).

    0.0 when N ≤ A (waits grow without end); 1.0 when A = 0.
    """
    _check_times(aht_s, threshold_s)
    if a == 0:
        _check_load(n, a)
        return 1.0
    if n <= a:
        _check_load(n, a)
        return 0.0
    return _sl_c(n, a, erlang_c(n, a), aht_s, threshold_s)


def asa(n: int, a: float, aht_s: float) -> float:
    """Erlang C average speed of answer (mean wait of all calls, every one answered): C·AHT / (N − A), s.

    ``math.inf`` when N ≤ A.
    """
    _check_times(aht_s, 0.0)
    c = erlang_c(n, a)
    if a == 0:
        return 0.0
    if n <= a:
        return math.inf
    return c * aht_s / (n - a)


def occupancy(n: int, a: float) -> float:
    """Share of agents' time handling calls, a fraction: A / N, at most 1 (a queue with N ≤ A is never idle)."""
    _check_load(n, a)
    if a == 0:
        return 0.0
    if n <= a:
        return 1.0
    return a / n


def _check_times(aht_s: float, threshold_s: float) -> None:
    if not (aht_s > 0 and math.isfinite(aht_s)):
        raise ValueError(f"AHT must be > 0 s, not {aht_s}")
    if not (threshold_s >= 0 and math.isfinite(threshold_s)):
        raise ValueError(f"the threshold must be ≥ 0 s, not {threshold_s}")


# --- Erlang A ---------------------------------------------------------------------------------

_EPS = 1e-17
_TINY = 1e-300
_MAX_TERMS = 100_000


def _log_p_pair(s: float, y: float) -> tuple[float, float]:
    """(ln P(s, y), ln P(s+1, y)): the regularised lower incomplete gamma function, in logs.

    P(s, y) = γ(s, y)/Γ(s). Below y = s+1 by the series P(s+1, y) = y^(s+1)·e^(−y)/Γ(s+1) ·
    Σ_k y^k / ((s+1)…(s+1+k)), from which the series of P(s, y) follows without a
    subtraction (Σ for s = (1 + y·Σ for s+1)/s); above, by the continued fraction of
    Q = 1 − P (Lentz's method, as in Numerical Recipes' ``gcf``) and Q(s+1, y) =
    Q(s, y) + y^s·e^(−y)/Γ(s+1). Logs, because the values underflow a float when a queue
    with many agents almost never waits, and only their ratios matter.
    """
    if y <= 0.0:
        return -math.inf, -math.inf
    ln_y = math.log(y)
    lg_s1 = math.lgamma(s + 1.0)
    if y < s + 1.0:
        term = 1.0 / (s + 1.0)
        total = term
        k = 1.0
        while True:
            term *= y / (s + 1.0 + k)
            total += term
            if term < total * _EPS or k > _MAX_TERMS:
                break
            k += 1.0
        ln_p1 = (s + 1.0) * ln_y - y - lg_s1 + math.log(total)
        # Σ_s = (1 + y·Σ_{s+1})/s and Γ(s) = Γ(s+1)/s: the two s cancel.
        ln_p0 = s * ln_y - y - lg_s1 + math.log1p(y * total)
        return ln_p0, ln_p1
    # Continued fraction for Γ(s, y)·e^y·y^(−s).
    b = y + 1.0 - s
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    i = 1
    while i < _MAX_TERMS:
        an = -i * (i - s)
        b += 2.0
        d = an * d + b
        if abs(d) < _TINY:
            d = _TINY
        c = b + an / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
        i += 1
    ln_pref = s * ln_y - y - lg_s1  # ln(y^s e^−y / Γ(s+1))
    q0 = math.exp(ln_pref + math.log(s) + math.log(h))  # y^s e^−y / Γ(s) · h
    q1 = q0 + math.exp(ln_pref)
    return math.log1p(-q0), math.log1p(-q1)


@dataclass(frozen=True, slots=True)
class ErlangA:
    """What one arriving call meets in an M/M/N+M queue (all fractions of offered calls).

    ``answered_within`` = P(answered and wait ≤ T); ``waited_within`` = P(wait ≤ T), the
    wait ending in an answer or a hang-up; ``abandoned_within`` = P(abandoned and wait ≤
    T), ``abandoned_within_short`` the same for the short-abandon threshold Ts.
    """

    agents: int
    wait_probability: float
    abandon_probability: float
    answered_within: float
    waited_within: float
    abandoned_within: float
    abandoned_within_short: float
    #: Mean wait of all offered calls, answered or abandoned: P(Ab)·patience, s.
    mean_wait_s: float
    #: Share of agents' time handling calls: A·P(answered)/N.
    occupancy: float

    @property
    def answered(self) -> float:
        return 1.0 - self.abandon_probability

    def service_level(self, formula: str) -> float:
        """The model's service level (a fraction) by one of the wallboard's formulas (see kpi.service_level).

        A = answered, Ab = abandoned, both per offered call; no other exits, so
        ``asterisk_sl2`` is ``sl2_hangups``.
        """
        a_t, a = self.answered_within, self.answered
        if formula == "offered":
            return a_t
        if formula == "answered":
            return a_t / a if a > 0 else 0.0
        if formula in ("sl2_hangups", "asterisk_sl2"):
            return self.waited_within
        if formula == "abandons_after_T":
            return a_t / (1.0 - self.abandoned_within)
        if formula == "excl_short_abandons":
            return a_t / (1.0 - self.abandoned_within_short)
        raise ValueError(f"unknown service-level formula {formula!r}")


def _series(s: float, y: float) -> tuple[float, float]:
    """(S, M) = (Σ_k t_k, Σ_k (k+1)·t_k), t_k = y^k / ((s+1)(s+2)…(s+1+k)), for 0 ≤ y < s+1.

    P(s+1, y) = y^(s+1)·e^(−y)·S / Γ(s+1); 1 + y·S = 𝒜(s, y), Mandelbaum & Zeltyn's
    Σ_j y^j/((s+1)…(s+j)); and M = 1 − (s − y)·S, the same quantity without the
    subtraction (from t_k·(s+1+k) = y·t_(k−1)), which P(abandon | wait) needs when callers
    are very patient and it is tiny.
    """
    term = 1.0 / (s + 1.0)
    total = moment = term
    k = 1.0
    while k < _MAX_TERMS:
        term *= y / (s + 1.0 + k)
        total += term
        moment += (k + 1.0) * term
        if (k + 1.0) * term < moment * _EPS:
            break
        k += 1.0
    return total, moment


def _erlang_a_at(
    n: int, b_n: float, lam: float, aht_s: float, patience_s: float, threshold_s: float, short_s: float
) -> ErlangA:
    """Erlang A with N agents given Erlang B(N, A) = ``b_n``.

    With a = N·patience/AHT, b = λ·patience, x = e^(−t/patience) (Mandelbaum & Zeltyn's
    notation; γ the lower incomplete gamma function, 𝒜 = a·e^b·b^(−a)·γ(a, b)):

    - P(wait) = 1 / (1 + (1/B − 1)/𝒜)  (B = Erlang B)
    - P(abandon | wait) = 1/(ρ𝒜) + 1 − 1/ρ, ρ = b/a = A/N
    - P(virtual wait > t | wait) = γ(a, b·x)/γ(a, b)
    - P(answered, wait ≤ t | wait) = [γ(a+1, b) − γ(a+1, b·x)] / (b·γ(a, b))
    - E[wait] = P(Ab)·patience

    Below saturation (b < a+1) every ratio is taken from the series of :func:`_series`,
    with the powers and exponentials worked out in closed form (x^a = e^(−N·t/AHT)), so
    nothing of the size of a or b is subtracted: the results stay exact to rounding for
    any patience, Erlang C's limit included. Above it, from logs of the regularised
    functions (:func:`_log_p_pair`), where no probability is small enough to lose.
    """
    a_traffic = lam * aht_s
    aa = n * patience_s / aht_s
    bb = lam * patience_s
    if bb < aa + 1.0:
        s_b, m_b = _series(aa, bb)
        script_a = 1.0 + bb * s_b
        p_wait = 0.0 if b_n <= 0.0 else 1.0 / (1.0 + (1.0 / b_n - 1.0) / script_a)
        abandon_w = m_b / script_a
        answered_w = aa * s_b / script_a

        def conditional(t: float) -> tuple[float, float]:
            """(P(answered, wait ≤ t | wait), P(virtual wait > t | wait))."""
            u = t / patience_s
            y = bb * math.exp(-u)
            s_y = _series(aa, y)[0]
            ln_base = -aa * u - bb * math.expm1(-u)  # ln(x^a·e^(b(1−x)))
            ratio_1 = ln_base - u + math.log(s_y / s_b)  # ln(γ(a+1, b·x)/γ(a+1, b))
            return answered_w * -math.expm1(ratio_1), math.exp(ln_base) * (1.0 + y * s_y) / script_a

    else:
        l0b, l1b = _log_p_pair(aa, bb)
        ln_script_a = bb - aa * math.log(bb) + math.lgamma(aa + 1.0) + l0b
        p_wait = 0.0 if b_n <= 0.0 else 1.0 / (1.0 + (1.0 / b_n - 1.0) * math.exp(-ln_script_a))
        abandon_w = min(1.0, (1.0 - aa / bb) + aa / bb * math.exp(-ln_script_a))
        answered_w = 1.0 - abandon_w

        def conditional(t: float) -> tuple[float, float]:
            x = math.exp(-t / patience_s)
            l0x, l1x = _log_p_pair(aa, bb * x)
            return answered_w * -math.expm1(l1x - l1b), math.exp(l0x - l0b)

    def within(t: float) -> tuple[float, float]:
        """(P(answered, wait ≤ t), P(wait ≤ t)) per offered call."""
        if t <= 0.0:
            return 1.0 - p_wait, 1.0 - p_wait
        answered_within_w, survive_w = conditional(t)
        return (1.0 - p_wait) + p_wait * answered_within_w, 1.0 - p_wait * survive_w * math.exp(-t / patience_s)

    ans_t, wait_t = within(threshold_s)
    ans_s, wait_s = (ans_t, wait_t) if short_s == threshold_s else within(short_s)
    p_ab = p_wait * abandon_w
    return ErlangA(
        agents=n,
        wait_probability=p_wait,
        abandon_probability=p_ab,
        answered_within=ans_t,
        waited_within=wait_t,
        abandoned_within=max(0.0, wait_t - ans_t),
        abandoned_within_short=max(0.0, wait_s - ans_s),
        mean_wait_s=p_ab * patience_s,
        occupancy=min(1.0, a_traffic * (1.0 - p_ab) / n) if n else 1.0,
    )


def erlang_a(
    n: int,
    a: float,
    aht_s: float,
    patience_s: float,
    threshold_s: float,
    short_abandon_s: float = 0.0,
) -> ErlangA:
    """Erlang A (M/M/N+M) with N ≥ 1 agents, A Erlangs and callers' mean patience (s) > 0."""
    _check_load(n, a)
    _check_times(aht_s, threshold_s)
    _check_times(aht_s, short_abandon_s)
    if n < 1:
        raise ValueError("Erlang A needs at least one agent")
    if not (patience_s > 0 and math.isfinite(patience_s)):
        raise ValueError(f"patience must be finite and > 0 s, not {patience_s}")
    if a == 0:
        return ErlangA(n, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0)
    return _erlang_a_at(n, erlang_b(n, a), a / aht_s, aht_s, patience_s, threshold_s, short_abandon_s)


# --- Staffing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Staffing:
    """The agents one queue needs now to meet its service-level target, and the model's view at that number.

    ``capped``: not even ``max_agents`` meet the target (the traffic is larger than the
    search allows, or the target is 100 %, which no finite number of agents meets since
    some caller always has to wait): ``needed`` is then ``max_agents``, a lower bound, and
    ``sl_at_needed_pct`` is below the target. A screen should say "más de {needed}".
    """

    needed: int
    traffic_erlangs: float
    sl_at_needed_pct: float
    model: Model
    capped: bool = False
    wait_probability_pct: float = 0.0
    #: Offered calls that hang up while waiting; 0 for Erlang C.
    abandon_pct: float = 0.0
    #: Mean wait of all offered calls, s (Erlang C: the ASA); None when unbounded (Erlang C, N ≤ A).
    mean_wait_s: float | None = 0.0
    occupancy_pct: float = 0.0
    #: The callers' mean patience the model used, s (None: Erlang C, infinitely patient).
    patience_s: float | None = None
    #: The SL formula of ``sl_at_needed_pct`` (Erlang C: every formula is the same number).
    sl_formula: str | None = None


def _traffic(arrivals_per_s: float | None, aht_s: float | None) -> float | None:
    """A = λ·AHT, or None when there is no traffic to staff for (no calls, or no AHT yet)."""
    if arrivals_per_s is None or aht_s is None:
        return None
    if not (math.isfinite(arrivals_per_s) and math.isfinite(aht_s)) or arrivals_per_s <= 0 or aht_s <= 0:
        return None
    return arrivals_per_s * aht_s


def _check_target(threshold_s: float, target_pct: float, max_agents: int) -> None:
    if not (threshold_s >= 0 and math.isfinite(threshold_s)):
        raise ValueError(f"the threshold must be ≥ 0 s, not {threshold_s}")
    if not (0 < target_pct <= 100):
        raise ValueError(f"the target must be in (0, 100] %, not {target_pct}")
    if max_agents < 1:
        raise ValueError(f"max_agents must be ≥ 1, not {max_agents}")


def _staffing_c(n: int, a: float, c: float, sl: float, aht_s: float, capped: bool) -> Staffing:
    stable = n > a
    return Staffing(
        needed=n,
        traffic_erlangs=a,
        sl_at_needed_pct=100.0 * sl,
        model="erlang_c",
        capped=capped,
        wait_probability_pct=100.0 * c,
        abandon_pct=0.0,
        mean_wait_s=c * aht_s / (n - a) if stable else None,
        occupancy_pct=100.0 * (a / n if stable else 1.0),
    )


def agents_needed(
    arrivals_per_s: float | None,
    aht_s: float | None,
    threshold_s: float,
    target_pct: float,
    max_agents: int = MAX_AGENTS,
) -> Staffing | None:
    """Erlang C: the smallest N ≤ ``max_agents`` with SL(T) ≥ ``target_pct`` (N > A for a stable queue).

    None when there is no traffic to staff for: λ = 0 (or None) or the AHT is unknown
    (None or 0). One pass of the Erlang B recursion up to the answer: O(needed). The
    last 1024 answers are remembered by their exact inputs (as in
    :func:`agents_needed_erlang_a`): asked again each second with the same window, a
    queue costs a dictionary look-up.
    """
    _check_target(threshold_s, target_pct, max_agents)
    a = _traffic(arrivals_per_s, aht_s)
    if a is None or aht_s is None:
        return None
    return _needed_c(a, aht_s, threshold_s, target_pct, max_agents)


@lru_cache(maxsize=_CACHED)
def _needed_c(a: float, aht_s: float, threshold_s: float, target_pct: float, max_agents: int) -> Staffing:
    target = target_pct / 100.0
    if a >= max_agents:
        return _staffing_c(max_agents, a, 1.0, 0.0, aht_s, capped=True)
    b = 1.0
    c = sl = 0.0
    for n in range(1, max_agents + 1):
        ab = a * b
        b = ab / (n + ab)
        if n > a:
            c = _c_from_b(n, a, b)
            sl = _sl_c(n, a, c, aht_s, threshold_s)
            if sl >= target and target < 1.0:
                return _staffing_c(n, a, c, sl, aht_s, capped=False)
    return _staffing_c(max_agents, a, c, sl, aht_s, capped=True)


def agents_needed_erlang_a(
    arrivals_per_s: float | None,
    aht_s: float | None,
    threshold_s: float,
    target_pct: float,
    patience_s: float | None,
    *,
    sl_formula: SLFormula = "offered",
    short_abandon_s: float = 0.0,
    max_agents: int = MAX_AGENTS,
) -> Staffing | None:
    """Erlang A: the smallest N ≤ ``max_agents`` whose model SL by ``sl_formula`` is ≥ ``target_pct``.

    ``patience_s`` is the callers' mean patience (see :func:`patience_estimate`); None or
    infinite means callers never hang up, and the answer is :func:`agents_needed`'s
    (Erlang C). Pass the queue's own ``sl_formula`` and ``short_abandon_s`` so the
    model's SL is the one its screen shows. ``offered`` (the default) counts every
    abandon against the SL; ``answered`` ignores abandons, so with impatient callers it
    is met by few agents however many hang up: staff by a formula that counts them. N may
    be ≤ A: with impatient callers, an overloaded queue sheds calls instead of growing.

    The SL grows with N (every formula; checked in tests/test_staffing.py), so the search
    gallops from N = A to a bracket, then interpolates and bisects: typically 4–12
    evaluations, each two or three pairs of incomplete gamma functions.
    """
    _check_target(threshold_s, target_pct, max_agents)
    if sl_formula not in SL_FORMULAS:
        raise ValueError(f"unknown service-level formula {sl_formula!r}")
    if patience_s is None or patience_s == math.inf:
        return agents_needed(arrivals_per_s, aht_s, threshold_s, target_pct, max_agents)
    if not (patience_s > 0 and math.isfinite(patience_s)):
        raise ValueError(f"patience must be > 0 s, not {patience_s}")
    if not (short_abandon_s >= 0 and math.isfinite(short_abandon_s)):
        raise ValueError(f"the short-abandon threshold must be ≥ 0 s, not {short_abandon_s}")
    a = _traffic(arrivals_per_s, aht_s)
    if a is None or arrivals_per_s is None or aht_s is None:
        return None
    # The short-abandon threshold matters to one formula only: elsewhere T stands in, at no cost.
    short_s = short_abandon_s if sl_formula == "excl_short_abandons" else threshold_s
    return _needed_a(arrivals_per_s, aht_s, threshold_s, target_pct, patience_s, sl_formula, short_s, max_agents)


@lru_cache(maxsize=_CACHED)
def _needed_a(
    lam: float,
    aht: float,
    threshold_s: float,
    target_pct: float,
    patience: float,
    sl_formula: str,
    short_s: float,
    max_agents: int,
) -> Staffing:
    a = lam * aht
    target = target_pct / 100.0
    blocking = [1.0]  # Erlang B(k, A) for k = 0, 1, …, extended as the search reaches further
    seen: dict[int, ErlangA] = {}

    def at(n: int) -> ErlangA:
        m = seen.get(n)
        if m is None:
            if n >= len(blocking):
                b = blocking[-1]
                for k in range(len(blocking), n + 1):
                    ab = a * b
                    b = ab / (k + ab)
                    blocking.append(b)
            m = seen[n] = _erlang_a_at(n, blocking[n], lam, aht, patience, threshold_s, short_s)
        return m

    def sl(n: int) -> float:
        return at(n).service_level(sl_formula)

    def result(n: int, capped: bool) -> Staffing:
        m = at(n)
        return Staffing(
            needed=n,
            traffic_erlangs=a,
            sl_at_needed_pct=100.0 * m.service_level(sl_formula),
            model="erlang_a",
            capped=capped,
            wait_probability_pct=100.0 * m.wait_probability,
            abandon_pct=100.0 * m.abandon_probability,
            mean_wait_s=m.mean_wait_s,
            occupancy_pct=100.0 * m.occupancy,
            patience_s=patience,
            sl_formula=sl_formula,
        )

    if target >= 1.0:
        return result(max_agents, capped=True)
    # A bracket lo < hi (lo misses the target or is 0, hi meets it), galloping from N = A
    # in steps of √A, the natural scale of staffing around the traffic, doubled each time.
    step = max(1, round(math.sqrt(a)))
    n = min(max_agents, max(1, round(a)))
    if sl(n) >= target:
        hi, lo = n, n - step
        while lo >= 1 and sl(lo) >= target:
            hi, step = lo, step * 2
            lo = hi - step
        lo = max(lo, 0)
    else:
        lo, hi = n, n + step
        while hi < max_agents and sl(hi) < target:
            lo, step = hi, step * 2
            hi = lo + step
        if hi >= max_agents:
            hi = max_agents
            if sl(hi) < target:
                return result(max_agents, capped=True)
    # Narrow it: the SL is smooth in N, so interpolating between the ends lands on the
    # answer or next to it (that neighbour is tried at once); bisection every other round
    # keeps the worst case logarithmic.
    interpolate = True
    while hi - lo > 1:
        if interpolate and lo >= 1:
            s_lo, s_hi = sl(lo), sl(hi)
            guess = lo + round((target - s_lo) * (hi - lo) / (s_hi - s_lo))
            guess = min(hi - 1, max(lo + 1, guess))
            if sl(guess) >= target:
                hi, neighbour = guess, guess - 1
            else:
                lo, neighbour = guess, guess + 1
            if lo < neighbour < hi:
                if sl(neighbour) >= target:
                    hi = neighbour
                else:
                    lo = neighbour
        else:
            mid = (lo + hi) // 2
            if sl(mid) >= target:
                hi = mid
            else:
                lo = mid
        interpolate = not interpolate
    return result(hi, capped=False)


# --- From a window's counters ----------------------------------------------------------------


def patience_estimate(
    abandoned: int, answered_wait_s: float, abandoned_wait_s: float, min_abandons: int = 5
) -> float | None:
    """Callers' mean patience, s: (waits of answered + waits of abandoned calls) / abandoned calls.

    The exponential patience's maximum-likelihood estimate with answered calls as
    censored observations (each answered caller was still willing to wait when
    answered); in Erlang A, P(Ab) = θ·E[wait] makes it exact in expectation. None with
    fewer than ``min_abandons`` abandons (no evidence of impatience yet: use Erlang C;
    with k abandons the estimate's relative error is about 1/√k). Other exits'
    waits are not in the counters, so they are left out of both terms.
    """
    if abandoned < max(1, min_abandons):
        return None
    total = answered_wait_s + abandoned_wait_s
    if not (total > 0 and math.isfinite(total)):
        return None
    return total / abandoned


def queue_staffing(
    *,
    offered: int,
    window_s: float,
    aht_s: float | None,
    threshold_s: float,
    target_pct: float,
    abandoned: int = 0,
    answered_wait_s: float = 0.0,
    abandoned_wait_s: float = 0.0,
    sl_formula: SLFormula = "offered",
    short_abandon_s: float = 0.0,
    min_abandons: int = 5,
    max_agents: int = MAX_AGENTS,
) -> Staffing | None:
    """Staffing for one queue from a recent window's counters, as a snapshot would call it.

    λ = ``offered`` / ``window_s`` (calls whose outcome fell in the window); AHT from the
    same window (``kpi.aht``). Erlang A with :func:`patience_estimate` when the window has
    at least ``min_abandons`` abandons, else Erlang C. None when there is no traffic
    (no calls in the window, or no AHT yet).
    """
    if window_s <= 0:
        raise ValueError(f"the window must be > 0 s, not {window_s}")
    if offered <= 0:
        return None
    lam = offered / window_s
    patience = patience_estimate(abandoned, answered_wait_s, abandoned_wait_s, min_abandons)
    if patience is None:
        return agents_needed(lam, aht_s, threshold_s, target_pct, max_agents)
    return agents_needed_erlang_a(
        lam,
        aht_s,
        threshold_s,
        target_pct,
        patience,
        sl_formula=sl_formula,
        short_abandon_s=short_abandon_s,
        max_agents=max_agents,
    )


def gap(needed: int, staffed: int) -> int:
    """Agents missing (> 0, "faltan 3") or to spare (< 0, "sobran 2") now: ``needed − staffed``.

    ``staffed`` = agents logged in and serving the queue, not on a break: available,
    ringing, on a call, on hold or in wrap-up for it (not ``not_ready``, not logged
    out). That is the N of Erlang C and Erlang A: the agents working the queue, busy
    or idle. The agents *available* (idle) now are not the comparison: at 85 %
    occupancy a queue staffed exactly right has only 15 % of its agents idle at any
    moment, so comparing ``needed`` with them would always say "faltan". An agent who
    serves several queues counts in each, while the model assumes agents of its own:
    for such queues the gap is optimistic. With ``Staffing.capped``, ``needed`` is a
    lower bound and so is the gap.
    """
    return needed - staffed
