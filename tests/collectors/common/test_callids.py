"""One call identity per PBX: the AMI and the queue_log collector of one Asterisk, given the same
``system``, make the same ids for a call's events, so the fold counts each once.

Checked on the recordings of a real Asterisk (tests/data/asterisk/day): the AMI session through
the AMI translator, the queue_log through the queue_log translator.
"""

from __future__ import annotations

from tests.collectors.asterisk_ami.recording import RECORDINGS, load_sessions
from wallboard.collectors.asterisk_ami.translator import AmiTranslator
from wallboard.collectors.asterisk_queue_log import QueueLogTranslator
from wallboard.collectors.common.callids import call_event_id, call_key
from wallboard.events import CallAbandoned, CallAnswered, CallEnded, CallExited, CallQueued, CallTransferred, Event

CALL_EVENTS = (CallQueued, CallAnswered, CallAbandoned, CallExited, CallEnded, CallTransferred)


def ami_events(system: str) -> list[Event]:
    tr = AmiTranslator("pbx-ami", grace_s=0.3, system=system)
    out: list[Event] = []
    for fields in load_sessions(RECORDINGS / "day")[0].events():
        message: dict[str, str] = {}
        for key, value in fields:
            message.setdefault(key.lower(), value)
        ts = float(message.get("timestamp", "0") or 0)
        out += tr.feed(message, ts)
        out += tr.expire(ts)
    out += tr.expire(float("inf"))
    return [e for e in out if isinstance(e, CALL_EVENTS)]


def queue_log_events(system: str) -> list[Event]:
    tr = QueueLogTranslator("pbx-log", system=system)
    lines = (RECORDINGS / "day" / "queue_log").read_text().splitlines()
    return [e for e in tr.translate(lines) if isinstance(e, CALL_EVENTS)]


def ids(events: list[Event]) -> set[str]:
    return {e.id for e in events}


def test_with_a_shared_system_both_sources_name_each_call_event_alike() -> None:
    ami, log = ami_events("pbx1"), queue_log_events("pbx1")
    assert len(log) > 200  # 91 calls: joins, answers, outcomes, ends
    # Every entry and answer and end the queue_log logged, AMI reported under the same id.
    joins_answers_ends = {e.id for e in log if not isinstance(e, (CallAbandoned, CallExited))}
    assert joins_answers_ends <= ids(ami)
    # Outcomes: one slot, whether a source says abandoned or timed out.
    outcomes = {e.id for e in log if isinstance(e, (CallAbandoned, CallExited))}
    assert outcomes and all(i.endswith(":outcome") for i in outcomes) and outcomes <= ids(ami)


def test_without_a_system_each_source_keeps_ids_of_its_own() -> None:
    assert ids(ami_events("")) & ids(queue_log_events("")) == set()


def test_the_id_of_an_entry_and_a_slot() -> None:
    assert call_event_id("pbx1", "ventas", "1773129600.12", 1, "join") == "pbx1:ventas:1773129600.12:join"
    assert call_event_id("pbx1", "ventas", "1773129600.12", 2, "outcome") == "pbx1:ventas:1773129600.12#2:outcome"
    long = call_key("pbx1", "q" * 300, "1.2")
    assert long.startswith("pbx1:") and len(long) < 60  # hashed: event ids stay within their limit
