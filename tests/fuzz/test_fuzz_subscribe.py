"""The /ws subscription message under garbage: 10 000+ seeded first messages, every valid one parsed to its
selector, every bad one refused with a reason (ValueError or AttributeError, which close the socket), nothing
else raised."""

from __future__ import annotations

from tests.fuzz import subscribe

N = 10_000
SEED = 20_261_201


def test_subscribe_messages_survive_garbage() -> None:
    report = subscribe.fuzz_messages(N, SEED)
    assert report.problems() == [], report.line()
    assert report.inputs >= N and report.valid > N // 10 and report.known_bad > N // 10
    assert report.rejected >= report.known_bad
