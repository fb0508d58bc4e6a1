"""The checkpoint codec: the whole centre state as JSON-ready data, and back.

The aggregator saves this with the last stream id folded into it, so a restart
continues exactly where it stopped. The format is compact lists where there are
many of a thing: interval counters are their values in field order, a window
record is ``[tag, ts, …]`` with its values in field order (``["a", ts, wait,
within_sl]``, ``["x", ts, wait, reason, within_sl]``, ``["e", ts, talk, hold,
wrap, call_id, transferred]``, …), a waiting call ``[since, source]`` and an
agent's last call ``[queue, call_id, interval start]``.

Older versions are still read, what they lack starting from what can be known.
Version 2 had no clock and no refusal counts: they start empty. Versions 2 and 3
did not flag other exits (timeouts, …) within the service level: given the fold
settings, an exit record is flagged against its queue's threshold now, and the
interval it fell in counts it, so every interval the rolling-window records
cover is exact and older ones count none (a lower bound); without settings none
is flagged.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import fields
from operator import attrgetter
from typing import Any

from wallboard.counters import AgentCounters, QueueCounters
from wallboard.fold_settings import FoldSettings
from wallboard.state import (
    RECORD_TYPES,
    AgentEntry,
    CentreState,
    Exited,
    LastCall,
    QueueState,
    Waiting,
    WindowRecord,
)

STATE_VERSION = 4
_READABLE_VERSIONS = (2, 3, 4)
#: The first version whose other exits carry their within-SL flag.
_EXITS_FLAGGED = 4

#: Each record type's values in field order (a record is written as its tag and these).
_RECORD_VALUES: dict[type[WindowRecord], Callable[[Any], tuple[Any, ...]]] = {
    cls: attrgetter(*(f.name for f in fields(cls))) for cls in RECORD_TYPES.values()
}


def _record_to_list(rec: WindowRecord) -> list[Any]:
    return [rec.TAG, *_RECORD_VALUES[type(rec)](rec)]


def _record_from_list(values: list[Any]) -> WindowRecord:
    if values[0] == Exited.TAG and len(values) == 4:  # (before version 4: flagged by _flag_exits)
        ts, wait, reason = values[1:]
        return Exited(ts, wait, reason, within_sl=False)
    return RECORD_TYPES[values[0]](*values[1:])


def _flag_exits(q: QueueState, queue_id: str, settings: FoldSettings | None) -> None:
    """Flag the exit records of a state before version 4 by the queue's threshold; count them in their interval."""
    if settings is None:
        return
    threshold = settings.rules_for(queue_id).sl_threshold_s
    for rec in q.recent:
        if type(rec) is Exited and rec.wait <= threshold:
            rec.within_sl = True
            bucket = q.buckets.get(settings.intervals.floor(rec.ts))
            if bucket is not None:
                bucket.exits_within_sl[rec.reason] = bucket.exits_within_sl.get(rec.reason, 0) + 1


def to_dict(state: CentreState) -> dict[str, Any]:
    """The whole state as JSON-ready data (see :func:`from_dict`)."""
    return {
        "version": STATE_VERSION,
        "queues": {
            qid: {
                "waiting": {cid: [w.since, w.source] for cid, w in q.waiting.items()},
                "finished": q.finished,
                "finished_old": q.finished_old,
                "buckets": {str(k): c.to_list() for k, c in q.buckets.items()},
                "recent": [_record_to_list(rec) for rec in q.recent],
            }
            for qid, q in state.queues.items()
        },
        "agents": {
            aid: {
                "state": a.state,
                "reason": a.reason,
                "direction": a.direction,
                "since": a.since,
                "queues": sorted(a.queues),
                "last_call": None if (c := a.last_call) is None else [c.queue, c.call_id, c.start],
                "buckets": {str(k): c.to_list() for k, c in a.buckets.items()},
            }
            for aid, a in state.agents.items()
        },
        "seen": sorted(state.seen),
        "seen_old": sorted(state.seen_old),
        "generation_start": state.generation_start,
        "sources": state.sources,
        "max_ts": state.max_ts,
        "now": state.now,
        "pruned_at": state.pruned_at,
        "applied": state.applied,
        "duplicates": state.duplicates,
        "refused": state.refused,
        "unconfigured_queues": state.unconfigured_queues,
        "unconfigured_agents": state.unconfigured_agents,
        "discovered_queues": sorted(state.discovered_queues),
        "discovered_agents": sorted(state.discovered_agents),
    }


def from_dict(data: Mapping[str, Any], settings: FoldSettings | None = None) -> CentreState:
    """Rebuild a state saved by :func:`to_dict` (or by an earlier version: see the module's docstring).

    ``settings`` (the fold's) are needed only to flag the other exits of a checkpoint older than version 4.
    """
    version = data.get("version")
    if version not in _READABLE_VERSIONS:
        raise ValueError(f"checkpoint version {version!r} is not one of {_READABLE_VERSIONS}")
    state = CentreState(
        seen=set(data["seen"]),
        seen_old=set(data["seen_old"]),
        generation_start=data["generation_start"],
        sources=dict(data["sources"]),
        max_ts=data["max_ts"],
        # A version-2 state was pruned by event time: its newest event time is its clock.
        now=data.get("now", data["max_ts"]),
        pruned_at=data["pruned_at"],
        applied=data["applied"],
        duplicates=data["duplicates"],
        refused={src: dict(counts) for src, counts in data.get("refused", {}).items()},
        unconfigured_queues=dict(data.get("unconfigured_queues", {})),
        unconfigured_agents=dict(data.get("unconfigured_agents", {})),
        discovered_queues=set(data.get("discovered_queues", ())),
        discovered_agents=set(data.get("discovered_agents", ())),
    )
    for qid, q in data["queues"].items():
        state.queues[qid] = QueueState(
            waiting={cid: Waiting(*w) for cid, w in q["waiting"].items()},
            finished=dict(q["finished"]),
            finished_old=dict(q["finished_old"]),
            buckets={int(k): QueueCounters.from_list(v) for k, v in q["buckets"].items()},
            recent=deque(_record_from_list(r) for r in q["recent"]),
        )
        if version < _EXITS_FLAGGED:
            _flag_exits(state.queues[qid], qid, settings)
    for aid, a in data["agents"].items():
        last_call = a["last_call"]
        state.agents[aid] = AgentEntry(
            state=a["state"],
            reason=a["reason"],
            direction=a["direction"],
            since=a["since"],
            queues=set(a["queues"]),
            last_call=None if last_call is None else LastCall(*last_call),
            buckets={int(k): AgentCounters.from_list(v) for k, v in a["buckets"].items()},
        )
    return state
