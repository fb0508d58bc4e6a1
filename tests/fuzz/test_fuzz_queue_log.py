"""queue_log under garbage: 10 000+ seeded lines, no crash, every valid line's events exact, every bad line
counted once with its line number, and every event emitted one the stream accepts.

Lines are text as the tail gives it (decoded with errors="replace"); a second run adds lone surrogates,
which only a caller handing the translator its own strings can produce."""

from __future__ import annotations

import pytest

from tests.fuzz import queue_log

N = 10_000
SEED = 20_261_201


@pytest.mark.parametrize("surrogates", [False, True], ids=["as decoded from a file", "with lone surrogates"])
def test_lines_survive_garbage_and_keep_every_valid_event(surrogates: bool) -> None:
    report = queue_log.fuzz_lines(N, SEED, surrogates=surrogates)
    assert report.crashes == [] and report.mismatches == [] and report.miscounts == [], report.line()
    assert report.invalid_events == [], report.line()
    assert report.inputs >= N and report.valid > N // 10 and report.known_bad > N // 20
    assert report.rejected >= report.known_bad


@pytest.mark.parametrize(
    "line",
    [
        "1773129500|c|q|PJSIP/1|CONNECT|2592001|c2|1",  # a wait over 30 days
        "1773129500|" + "c" * 257 + "|q|NONE|ENTERQUEUE||1|1",  # a call id over 256 characters
        "1773129500|c|" + "q" * 257 + "|NONE|ENTERQUEUE||1|1",
        "1773129500|c|q|" + "P" * 257 + "|CONNECT|5|c2|1",
    ],
)
def test_values_no_event_may_carry_are_refused_with_a_reason(line: str) -> None:
    from wallboard.collectors.asterisk_queue_log import QueueLogTranslator

    tr = QueueLogTranslator("pbx")
    assert tr.feed(line, 7) == [] and tr.stats.malformed == 1
    assert tr.stats.errors[0].lineno == 7


def test_a_long_pause_text_is_cut_to_what_an_event_carries() -> None:
    from wallboard.collectors.asterisk_queue_log import QueueLogTranslator
    from wallboard.events import AgentStateChanged
    from wallboard.wire import decode, pack

    events = QueueLogTranslator("pbx").feed("1773129500|NONE|q|PJSIP/1|PAUSE|" + "r" * 300, 1)
    states = [e for e in events if isinstance(e, AgentStateChanged)]
    assert states and len(states[-1].reason) == 256
    for e in events:
        decode({"e": pack(e)})
