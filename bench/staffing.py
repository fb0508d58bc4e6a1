"""What the staffing model costs per queue: µs for one ``agents_needed`` (Erlang C) or ``agents_needed_erlang_a``.

    .venv/bin/python bench/staffing.py

A snapshot would ask once a second for each of its ~5–50 queues. Cases: the typical
queues (λ = 0.05–2 calls/s, AHT 180–400 s, 80 % in 20 s) by Erlang C and by Erlang
A (mean patience 60 s and 180 s, formula ``offered``; and ``excl_short_abandons``,
which needs one more pair of incomplete gamma functions), then large ones (1 500 and
1 950 Erlangs) and one past the 2 000-agent cap. Each figure is the median of 5
repetitions, a repetition timing enough calls to last ≥ 20 ms, each call cold (the
module's memo of answers emptied first); then the warm cost, the same inputs asked
again as a snapshot does while its window is unchanged. Prints a Markdown table and
writes bench/results/staffing.json.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wallboard import staffing
from wallboard.staffing import Staffing, agents_needed, agents_needed_erlang_a

TYPICAL_LAMBDA = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)
TYPICAL_AHT = (180.0, 300.0, 400.0)
LARGE = ((5.0, 300.0), (6.5, 300.0), (10.0, 300.0))  # A = 1 500, 1 950 and 3 000 (past the cap)
THRESHOLD_S, TARGET = 20.0, 80.0


def forget() -> None:
    """Empty the module's memo of answers, so that a call computes."""
    staffing._needed_c.cache_clear()
    staffing._needed_a.cache_clear()


def per_call_us(fn: Callable[[], Staffing | None]) -> tuple[float, Staffing | None]:
    """Median over 5 repetitions of the µs one call takes (the memo emptied before each: a cold call)."""

    def cold() -> Staffing | None:
        forget()
        return fn()

    return repeat(cold), fn()


def repeat(fn: Callable[[], Staffing | None]) -> float:
    """Median over 5 repetitions of the µs one call of ``fn`` takes."""
    fn()
    reps = 1
    while True:  # calls per repetition: enough for ≥ 20 ms
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        if time.perf_counter() - t0 >= 0.02:
            break
        reps *= 2
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        samples.append((time.perf_counter() - t0) / reps * 1e6)
    return statistics.median(samples)


def models(lam: float, aht: float) -> dict[str, Callable[[], Staffing | None]]:
    return {
        "erlang_c": lambda: agents_needed(lam, aht, THRESHOLD_S, TARGET),
        "erlang_a_60s": lambda: agents_needed_erlang_a(lam, aht, THRESHOLD_S, TARGET, 60.0),
        "erlang_a_180s": lambda: agents_needed_erlang_a(lam, aht, THRESHOLD_S, TARGET, 180.0),
        "erlang_a_180s_excl_short": lambda: agents_needed_erlang_a(
            lam, aht, THRESHOLD_S, TARGET, 180.0, sl_formula="excl_short_abandons", short_abandon_s=5.0
        ),
    }


def run() -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    cases = [("typical", lam, aht) for lam in TYPICAL_LAMBDA for aht in TYPICAL_AHT]
    cases += [("large", lam, aht) for lam, aht in LARGE]
    for kind, lam, aht in cases:
        row: dict[str, Any] = {"kind": kind, "lambda_per_s": lam, "aht_s": aht, "erlangs": lam * aht}
        for name, fn in models(lam, aht).items():
            us, s = per_call_us(fn)
            assert s is not None
            row[name] = {"us": round(us, 1), "needed": s.needed, "capped": s.capped}
        rows.append(row)
    forget()
    warm = {name: round(repeat(fn), 2) for name, fn in models(0.5, 300.0).items()}  # the same window again
    typical = [r for r in rows if r["kind"] == "typical"]
    summary = {
        name: {
            "typical_median_us": round(statistics.median(r[name]["us"] for r in typical), 1),
            "typical_max_us": round(max(r[name]["us"] for r in typical), 1),
        }
        for name in models(1.0, 1.0)
    }
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "threshold_s": THRESHOLD_S,
        "target_pct": TARGET,
        "rows": rows,
        "summary": summary,
        "warm_us": warm,
    }


def table(result: dict[str, Any]) -> str:
    names = list(result["summary"])
    out = [
        "| λ (calls/s) | AHT (s) | A (Erl) | " + " | ".join(f"{n}: needed, µs" for n in names) + " |",
        "|---:|---:|---:|" + "---:|" * len(names),
    ]
    for r in result["rows"]:
        cells = []
        for n in names:
            c = r[n]
            needed = f"≥{c['needed']}" if c["capped"] else str(c["needed"])
            cells.append(f"{needed}, {c['us']:.0f}")
        out.append(f"| {r['lambda_per_s']:g} | {r['aht_s']:g} | {r['erlangs']:g} | " + " | ".join(cells) + " |")
    out.append("")
    for n, s in result["summary"].items():
        out.append(
            f"- {n}: typical median {s['typical_median_us']:.0f} µs, typical max {s['typical_max_us']:.0f} µs; "
            f"asked again with the same inputs {result['warm_us'][n]:.1f} µs"
        )
    return "\n".join(out)


def main() -> None:
    result = run()
    print(table(result))
    out = ROOT / "bench" / "results" / "staffing.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
