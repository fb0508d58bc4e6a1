"""One call identity per PBX: the ids of a call's events, whichever source reports them.

The AMI collector and the queue_log collector of one Asterisk see the same calls:
the queue_log's callid and AMI's ``Uniqueid`` are the caller channel's id. Given
the same ``system`` name, both make a call's events the same ids, from the call
(system, queue, call id, which entry of the call into that queue) and what
happened to it (:data:`SLOTS`), so the fold, which counts an id once, counts
each entry and each outcome of a call once, from whichever source reports it
first. An abandon and a timeout are the same slot, ``outcome``: a call leaves a
queue unanswered once, and the first report of how counts.
"""

from __future__ import annotations

import hashlib

#: What can happen to one entry of a call into a queue: each at most once.
SLOTS = ("join", "answer", "outcome", "end", "lost")
_MAX_KEY = 200  # event ids are at most 256 characters


def call_key(prefix: str, queue: str, call_id: str, entry: int = 1) -> str:
    """The id prefix of the ``entry``-th entry of a call into a queue (hashed when long)."""
    key = f"{prefix}:{queue}:{call_id}" + (f"#{entry}" if entry > 1 else "")
    if len(key) > _MAX_KEY:
        # surrogatepass: a str with a lone surrogate (never off the wire) must not crash the hash
        key = f"{prefix}:" + hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
    return key


def call_event_id(system: str, queue: str, call_id: str, entry: int, slot: str) -> str:
    """The id of what happened (``slot``) to an entry of a call, as every source of ``system`` makes it."""
    return f"{call_key(system, queue, call_id, entry)}:{slot}"
