"""HTTP ingest validation under garbage: 10 000+ seeded events in batches, every valid event taken exactly,
every broken one an error naming its index and field, nothing raised (a request is answered 200 or 422)."""

from __future__ import annotations

from tests.fuzz import http_ingest

N = 10_000
SEED = 20_261_201


def test_ingest_validation_survives_garbage() -> None:
    report = http_ingest.fuzz_batches(N, SEED)
    assert report.problems() == [], report.line()
    assert report.inputs >= N and report.valid > N // 10 and report.known_bad > N // 10
    assert report.rejected >= report.known_bad
