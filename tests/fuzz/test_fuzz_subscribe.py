"""The /ws subscription message under garbage: 10 000+ seeded first messages, every valid one parsed to its
selector, every bad one refused with a close code and a reason (SubscribeError), nothing else raised, also
for JSON nested deeper than the decoder can go."""

from __future__ import annotations

import pytest

from tests.fuzz import subscribe

N = 10_000
SEED = 20_261_201


@pytest.mark.parametrize("endpoint", [False, True], ids=["messages", "with deep nesting"])
def test_subscribe_messages_survive_garbage(endpoint: bool) -> None:
    report = subscribe.fuzz_messages(N, SEED, endpoint=endpoint)
    assert report.problems() == [], report.line()
    assert report.inputs >= N and report.valid > N // 10 and report.known_bad > N // 10
    assert report.rejected >= report.known_bad
