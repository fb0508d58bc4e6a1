"""queue_log under garbage: 10 000+ seeded lines, no crash, every valid line's events exact, every bad line
counted once with its line number.

Lines are text as the tail gives it (decoded with errors="replace"). That every emitted event also passes
the stream's own validation is measured by bench/fuzz.py, not asserted here: the translator does not yet
bound durations and field lengths (see docs/BENCHMARKS.md, "Fuzzing the translators")."""

from __future__ import annotations

from tests.fuzz import queue_log

N = 10_000
SEED = 20_261_201


def test_lines_survive_garbage_and_keep_every_valid_event() -> None:
    report = queue_log.fuzz_lines(N, SEED)
    assert report.crashes == [] and report.mismatches == [] and report.miscounts == [], report.line()
    assert report.inputs >= N and report.valid > N // 10 and report.known_bad > N // 20
    assert report.rejected >= report.known_bad
