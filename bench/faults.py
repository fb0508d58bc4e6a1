"""Fault campaign: kill -9 every process of `wallboard run` while a queue_log is written, then count.

    .venv/bin/python bench/faults.py                                  # 1 000 000 lines, 100 kills
    .venv/bin/python bench/faults.py --lines 50000 --kills 12 --healthy-s 0 --duration 30   # quick

Starts ``wallboard run`` in a temporary directory on the demo ``config.yaml``'s
queues and agents with one ``asterisk_queue_log`` collector (``load_today:
false``, started on an empty file: every line is written after the collector
stored its first cursor, so all of them must be counted) and no simulator,
under the embedded Redis (append-only file, ``appendfsync everysec``, as
shipped). It writes ``--lines`` complete calls (ENTERQUEUE, RINGNOANSWER,
CONNECT, COMPLETEAGENT/COMPLETECALLER, BLINDTRANSFER, ABANDON,
EXITWITHTIMEOUT, EXITEMPTY, EXITWITHKEY, and PAUSEALL/UNPAUSEALL) dated over
the 20 hours before the start, on configured queues and agent interfaces,
into the file the collector follows, in chunks cut at any byte (half-written
lines), over ``--duration`` seconds, renaming the file ``--rotations`` times
on the way (logrotate's default; a few lines still go to the renamed file, as
Asterisk writes there until its logger reloads).

Meanwhile it kills with SIGKILL, in random order (each round a shuffle of the
four kinds), the aggregator, the collector, the web process and the embedded
Redis, ``--kills`` times, each kill 0.5–3 s after the previous one and only
once the process to kill has been up ``--healthy-s`` (31 s by default: past
the supervisor's healthy period, so each restart is a first, immediate one;
with 0 the supervisor's growing restart delays are part of what is measured).

Per kill it records, polling every 0.1 s: **snapshot** (a snapshot with a
higher seq, generated after the kill, with the collector's heartbeat after
the kill), **folded** (a snapshot whose folded stream id is past the stream's
last entry at the kill: events written after it went all the way through) and
**healthz** (``/healthz`` 200 about a newer snapshot).

At the end it waits until everything is folded (the collector's cursor at the
end of the current file with no rotated file open, the checkpoint's last_id
the stream's last entry, nothing pending), sums the checkpoint's per-queue
interval counters (so the comparison does not depend on where "today" starts)
and compares them with ``wallboard report --queue-log`` over the rotated files
and the current one concatenated, and with what the generator wrote. A result
JSON is saved (``--json``) and a table printed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import stack as harness
from tests.helpers import eventually
from wallboard import lease
from wallboard.counters import QueueCounters
from wallboard.kpi import queue_kpis
from wallboard.lease import parse_token

SOURCE = "pbx-log"
KINDS = ("aggregator", "collector", "web", "redis")
#: What is compared per queue: counts (a difference is events lost or counted twice) …
COUNTS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "other_exits",
    "exits.timeout",
    "exits.empty",
    "exits.exit_key",
    "answered_within_sl",
    "abandoned_within_sl",
    "handled",
    "transferred",
)
#: … and the averages the report shows (sums of waits and talk over the counts, rounded as it rounds them).
AVERAGES = ("asa_s", "avg_abandon_wait_s", "max_wait_s", "aht_s")
POLL_S = 0.1
STANDBY = "aggregator-2"
LEASE_KEY = "wb:" + lease.LEASE_KEY
RECOVERY_TIMEOUT_S = 120.0
_EXIT_LINES = (("EXITWITHTIMEOUT", "timeout"), ("EXITEMPTY", "empty"), ("EXITWITHKEY", "exit_key"))


@dataclass(frozen=True)
class Plan:
    """One campaign's parameters."""

    lines: int = 1_000_000
    kills: int = 100
    duration_s: float = 600.0  # to write the lines over
    healthy_s: float = 31.0  # a process is killed only once up this long
    rotations: int = 2
    seed: int = 1
    gap_s: tuple[float, float] = (0.5, 3.0)
    drain_timeout_s: float = 900.0
    history_s: float = 20 * 3600.0  # lines dated over this span, ending before the start
    #: A second aggregator beside `run`'s (`wallboard aggregate`, named STANDBY): each "aggregator"
    #: kill is then of the active one, whichever holds the lease. The standby, killed, is started
    #: again only after the lease has expired (a host that is down a while): the other takes over.
    standby: bool = False
    kinds: tuple[str, ...] = KINDS  # what is killed, a shuffle of these each round


# ------------------------------------------------------------------ the queue_log


@dataclass
class Written:
    """What the generator wrote, per queue: the counts a correct reader must find."""

    lines: int = 0
    per_queue: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, queue: str, key: str) -> None:
        self.per_queue.setdefault(queue, Counter())[key] += 1


def calls(
    rng: random.Random, queues: list[str], members: list[str], start: float, end: float, n_lines: int, written: Written
) -> Iterator[str]:
    """Lines of complete calls with entry times from ``start`` to ``end`` (about ``n_lines`` of them)."""
    step = (end - start) / max(1.0, n_lines / 3.2)
    t, k = start, 0
    while written.lines < n_lines:
        k += 1
        t = min(end, t + rng.uniform(0.2, 1.8) * step)
        q, cid, enter = rng.choice(queues), f"{int(t)}.{k}", int(t)
        out = [f"{enter}|{cid}|{q}|NONE|ENTERQUEUE||6001{k % 100000:05d}|1"]
        r = rng.random()
        if r < 0.72:
            wait, talk, agent = rng.randint(0, 90), rng.randint(10, 900), rng.choice(members)
            if rng.random() < 0.1:
                out.append(f"{enter + wait}|{cid}|{q}|{rng.choice(members)}|RINGNOANSWER|15000")
            out.append(f"{enter + wait}|{cid}|{q}|{agent}|CONNECT|{wait}|{cid}9|3")
            if rng.random() < 0.05:
                out.append(f"{enter + wait + talk}|{cid}|{q}|{agent}|BLINDTRANSFER|2000|from-internal|{wait}|{talk}|1")
                written.add(q, "transferred")
            else:
                verb = "COMPLETEAGENT" if rng.random() < 0.5 else "COMPLETECALLER"
                out.append(f"{enter + wait + talk}|{cid}|{q}|{agent}|{verb}|{wait}|{talk}|1")
            written.add(q, "answered")
            written.add(q, "handled")
        elif r < 0.88:
            wait = rng.randint(0, 240)
            out.append(f"{enter + wait}|{cid}|{q}|NONE|ABANDON|1|1|{wait}")
            written.add(q, "abandoned")
        else:
            verb, reason = rng.choice(_EXIT_LINES)
            wait = rng.randint(1, 300)
            data = f"5|1|1|{wait}" if verb == "EXITWITHKEY" else f"1|1|{wait}"
            out.append(f"{enter + wait}|{cid}|{q}|NONE|{verb}|{data}")
            written.add(q, "other_exits")
            written.add(q, f"exits.{reason}")
        written.add(q, "offered")
        if k % 40 == 0:  # agents pause and come back now and then (agent events on the stream too)
            m = rng.choice(members)
            out.append(f"{enter}|NONE|NONE|{m}|PAUSEALL|{rng.choice(('Break', 'Lunch', 'Training'))}")
            out.append(f"{enter + 60}|NONE|NONE|{m}|UNPAUSEALL|")
        written.lines += len(out)
        yield from out


class Writer(threading.Thread):
    """Writes the lines into ``path`` in chunks over ``duration`` seconds, renaming it ``rotations`` times."""

    def __init__(self, path: Path, lines: Iterator[str], plan: Plan, rng: random.Random) -> None:
        super().__init__(daemon=True)
        self.path, self.lines, self.plan, self.rng = path, lines, plan, rng
        self.files: list[Path] = []  # rotated files, in order; the current one last
        self.done = threading.Event()
        self.finished_at = 0.0  # time.monotonic() when the last line was written
        self.error: BaseException | None = None
        self.bytes = 0

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported by the campaign
            self.error = exc
        finally:
            self.finished_at = time.monotonic()
            self.done.set()

    def _run(self) -> None:
        plan, rng = self.plan, self.rng
        chunks = max(1, int(plan.duration_s / 0.2))
        per_chunk = max(1, plan.lines // chunks)
        rotate_at = {plan.lines * (i + 1) // (plan.rotations + 1) for i in range(plan.rotations)}
        fh = self.path.open("ab")
        carry, sent, t0, n = b"", 0, time.monotonic(), 0
        try:
            for line in self.lines:
                carry += line.encode() + b"\n"
                n += 1
                rotate = any(sent < r <= n for r in rotate_at)
                if n - sent < per_chunk and not rotate:
                    continue
                cut = len(carry) if rotate else rng.randint(len(carry) // 2, len(carry))  # half lines too
                fh.write(carry[:cut])
                fh.flush()
                self.bytes += cut
                carry, sent = carry[cut:], n
                if rotate:
                    fh = self._rotate(fh)
                pause = t0 + plan.duration_s * n / plan.lines - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            fh.write(carry)
            self.bytes += len(carry)
        finally:
            fh.close()
        self.files.append(self.path)

    def _rotate(self, fh: Any) -> Any:
        """logrotate's rename; the writer (Asterisk) writes a few lines more to the old file first."""
        old = self.path.with_name(f"{self.path.name}.{len(self.files) + 1}")
        os.rename(self.path, old)
        self.files.append(old)
        for _ in range(20):
            line = next(self.lines, None)
            if line is None:
                break
            fh.write(line.encode() + b"\n")
        fh.close()
        return self.path.open("ab")


# ---------------------------------------------------------------------- the stack


class Stack(harness.Stack):
    """`wallboard run` with one queue_log collector, in a directory of its own."""

    def __init__(self, tmp: Path, queue_log: Path) -> None:
        def adjust(raw: dict[str, Any]) -> None:
            raw["redis"].update(prefix="wb:", stream_maxlen=1_000_000)
            raw["collectors"] = [
                {
                    "kind": "asterisk_queue_log",
                    "name": SOURCE,
                    "options": {"path": str(queue_log), "load_today": False, "rotate_grace_s": 2.0},
                }
            ]

        super().__init__(tmp, adjust=adjust)
        self.queues = [q["id"] for q in self.raw["queues"]]
        self.members = [a["aliases"][0] for a in self.raw["agents"]]
        self.queue_log = queue_log

    def get_json(self, key: str) -> dict[str, Any] | None:
        raw = self.redis().get(key)
        return None if raw is None else dict(json.loads(raw))

    def stream_last(self) -> tuple[int, int]:
        entries: Any = self.redis().xrevrange("wb:events", count=1)
        return _id(entries[0][0].decode()) if entries else (0, 0)


def _id(text: str) -> tuple[int, int]:
    ms, _, n = text.partition("-")
    return int(ms), int(n or 0)


def _until(condition: Any, timeout: float, what: str, poll: float = POLL_S) -> Any:
    """``eventually``, with Redis or the web process not answering counting as "not yet"."""

    def quietly() -> Any:
        try:
            return condition()
        except (OSError, ValueError, redis.RedisError):
            return None

    return eventually(quietly, timeout, what, poll=poll)


# -------------------------------------------------------------------- the kills


@dataclass
class Kill:
    kind: str
    pid: int
    at: float
    seq0: int
    last0: tuple[int, int]
    writing: bool  # lines were still being written (else no new event can show the flow is back)
    recovered: dict[str, float | None] = field(default_factory=dict)
    who: str = ""  # the aggregator killed (with a standby): its name
    after: str = ""  # … and the one whose snapshot showed the recovery


class Monitor(threading.Thread):
    """Polls Redis and /healthz; times each open kill's recoveries."""

    def __init__(self, stack: Stack) -> None:
        super().__init__(daemon=True)
        self.stack = stack
        self.kills: list[Kill] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.seq = -1
        self.last: tuple[int, int] = (0, 0)
        self.timers: list[threading.Timer] = []  # the standby's restarts to come

    def run(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                open_kills = [k for k in self.kills if len(k.recovered) < 3]
            try:
                snap = self.stack.latest()
                self.last = max(self.last, self.stack.stream_last())
            except (OSError, ValueError, redis.RedisError):
                snap = None
            if snap is not None:
                self.seq = max(self.seq, int(snap["seq"]))
            now = time.time()
            health: tuple[int, dict[str, Any]] | None = None
            for k in open_kills:
                if "healthz" not in k.recovered:
                    health = health or self.stack.healthz(timeout=2)
                    if health[0] == 200 and (health[1].get("snapshot_seq") or -1) > k.seq0:
                        k.recovered["healthz"] = time.time() - k.at
                if snap is not None and snap["seq"] > k.seq0 and harness.iso_ts(snap["generated_at"]) > k.at:
                    beat = (snap["sources"].get(SOURCE) or {}).get("heartbeat_at") or 0
                    if "snapshot" not in k.recovered and beat > k.at:
                        k.recovered["snapshot"] = now - k.at
                        k.after = ((snap["pipeline"].get("aggregator") or {}).get("name")) or ""
                    if "folded" not in k.recovered and _id(snap["pipeline"]["last_id"]) > k.last0:
                        k.recovered["folded"] = now - k.at
                if now - k.at > RECOVERY_TIMEOUT_S:
                    for name in ("snapshot", "folded", "healthz"):
                        k.recovered.setdefault(name, None)
            self.stop.wait(POLL_S)

    def kill(self, kind: str, pid: int, writing: bool, who: str = "") -> None:
        try:  # the stream's tip right now (the poll's may be 0.1 s old)
            last = max(self.last, self.stack.stream_last())
        except (OSError, ValueError, redis.RedisError):
            last = self.last
        k = Kill(kind, pid, time.time(), self.seq, last, writing, who=who)
        if not writing:
            k.recovered["folded"] = None
        os.kill(pid, signal.SIGKILL)
        with self.lock:
            self.kills.append(k)


def kill_all(stack: Stack, monitor: Monitor, plan: Plan, rng: random.Random, writer: Writer, deadline: float) -> None:
    """``plan.kills`` SIGKILLs, each round a shuffle of the kinds, each once its target has been up long enough."""
    order: list[str] = []
    while len(order) < plan.kills:
        round_ = list(plan.kinds)
        rng.shuffle(round_)
        order += round_
    for kind in order[: plan.kills]:
        time.sleep(rng.uniform(*plan.gap_s))
        if kind == "aggregator" and plan.standby:
            kid, who = _until(
                lambda: active_aggregator(stack, plan), deadline - time.monotonic(), "an active aggregator"
            )
        else:
            who = ""
            kid = _until(
                lambda kind=kind: (k := stack.children().get(kind)) and harness.uptime() - k[1] >= plan.healthy_s and k,
                deadline - time.monotonic(),
                f"{kind} up for {plan.healthy_s:g} s before the campaign's deadline",
                poll=0.05,
            )
        try:
            monitor.kill(kind, kid[0], not writer.done.is_set(), who)
        except ProcessLookupError:  # it died on its own just now: take the next one's turn
            continue
        if who == STANDBY:  # started again once the lease has expired: the other one takes over meanwhile
            stack.procs.pop(STANDBY).wait(10)  # (reaped)
            timer = threading.Timer(stack.lease_ttl_s + 1.0, lambda: stack.start("aggregate", name=STANDBY))
            monitor.timers.append(timer)
            timer.start()
        if writer.error is not None:
            raise RuntimeError("the queue_log writer failed") from writer.error


def active_aggregator(stack: Stack, plan: Plan) -> tuple[tuple[int, float], str] | None:
    """The active aggregator's (pid, start) and name, once it has been up ``plan.healthy_s`` (else None)."""
    held = stack.redis().get(LEASE_KEY)
    if held is None:
        return None
    holder = parse_token(held.decode() if isinstance(held, bytes) else str(held))
    if holder.pid is None:
        return None
    try:
        kid = (holder.pid, harness.start_time(holder.pid))
    except OSError:  # gone: its lease has not expired yet
        return None
    if harness.uptime() - kid[1] < plan.healthy_s:
        return None
    return kid, holder.name


# -------------------------------------------------------------------- the counts


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if not isinstance(v, dict)}
    out.update({f"exits.{r}": n for r, n in row.get("exits", {}).items()})
    return out


def live_totals(checkpoint: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per queue: the checkpoint's interval counters summed, as the report's KPIs."""
    out: dict[str, dict[str, Any]] = {}
    for qid, q in checkpoint["state"]["queues"].items():
        total = QueueCounters()
        for values in q["buckets"].values():
            total.merge(QueueCounters.from_list(values))
        out[qid] = _flat(queue_kpis(total)) | {
            "answer_wait_sum": total.answer_wait_sum,
            "abandon_wait_sum": total.abandon_wait_sum,
            "talk_sum": total.talk_sum,
        }
    return out


def drained(stack: Stack, writer: Writer, restarts: Sequence[threading.Timer] = ()) -> dict[str, Any] | None:
    """The checkpoint once everything written was folded (else None)."""
    if set(stack.children()) != set(KINDS):
        return None
    standby = stack.procs.get(STANDBY)
    if any(t.is_alive() for t in restarts) or (standby is not None and standby.poll() is not None):
        return None  # (the standby down or to be started again: not the end yet)
    cursor = stack.get_json(f"wb:cursor:{SOURCE}") or {}
    pos, size = cursor.get("position") or {}, stack.queue_log.stat()
    if cursor.get("previous") or pos.get("inode") != size.st_ino or pos.get("offset") != size.st_size:
        return None
    pending: Any = stack.redis().xpending("wb:events", "aggregator")
    if pending["pending"]:
        return None
    checkpoint = stack.get_json("wb:aggregator:checkpoint")  # (tens of MB: read once the rest is done)
    if checkpoint is None or _id(checkpoint["last_id"]) != stack.stream_last():
        return None
    again = stack.get_json(f"wb:cursor:{SOURCE}") or {}
    return checkpoint if again.get("position") == pos else None


def compare(live: dict[str, dict[str, Any]], report: dict[str, dict[str, Any]], written: Written) -> dict[str, Any]:
    """Lost (report − live > 0) and counted twice (live − report > 0), per queue and counter."""
    lost: dict[str, dict[str, int]] = {}
    doubled: dict[str, dict[str, int]] = {}
    averages: dict[str, dict[str, list[Any]]] = {}
    report_vs_written: dict[str, dict[str, list[int]]] = {}
    for qid in sorted(set(live) | set(report) | set(written.per_queue)):
        lv, rp, wr = live.get(qid, {}), report.get(qid, {}), written.per_queue.get(qid, Counter())
        for key in COUNTS:
            d = int(rp.get(key) or 0) - int(lv.get(key) or 0)
            if d > 0:
                lost.setdefault(qid, {})[key] = d
            elif d < 0:
                doubled.setdefault(qid, {})[key] = -d
            compared = key in ("offered", "answered", "abandoned", "other_exits", "handled", "transferred")
            if (compared or key.startswith("exits.")) and int(rp.get(key) or 0) != wr[key]:
                report_vs_written.setdefault(qid, {})[key] = [int(rp.get(key) or 0), wr[key]]
        for key in AVERAGES:
            if lv.get(key) != rp.get(key):
                averages.setdefault(qid, {})[key] = [lv.get(key), rp.get(key)]
    return {"lost": lost, "doubled": doubled, "averages_differ": averages, "report_vs_written": report_vs_written}


def run_report(stack: Stack, files: list[Path], tmp: Path) -> dict[str, dict[str, Any]]:
    """``wallboard report --format json`` over the files concatenated in order: per-queue totals."""
    whole = tmp / "queue_log.all"
    with whole.open("wb") as out:
        for f in files:
            out.write(f.read_bytes())
    target = tmp / "report.json"
    stack.cli(
        "report", "--queue-log", str(whole), "--format", "json", "--output", str(target), timeout=900
    ).check_returncode()
    report = json.loads(target.read_text())
    return {qid: _flat(q["total"]) for qid, q in report["queues"].items()}


# -------------------------------------------------------------------- the campaign


def _stats(values: list[float | None]) -> dict[str, Any]:
    got = [v for v in values if v is not None]
    return {
        "n": len(values),
        "never": len(values) - len(got),
        "median_s": round(statistics.median(got), 2) if got else None,
        "max_s": round(max(got), 2) if got else None,
    }


def campaign(plan: Plan, tmp: Path, *, progress: bool = False) -> dict[str, Any]:
    """Run one campaign in ``tmp``; the result as JSON-ready data."""
    rng = random.Random(plan.seed)
    queue_log = tmp / "queue_log"
    queue_log.write_bytes(b"")  # exists before the collector's first start: nothing in it is skipped
    stack = Stack(tmp, queue_log)
    stack.start("run")
    monitor = Monitor(stack)
    started = time.time()
    deadline = time.monotonic() + plan.duration_s * 3 + plan.kills * (plan.healthy_s / len(plan.kinds) + 10) + 300
    written = Written()
    try:
        _until(lambda: stack.healthz(timeout=2)[0] == 200, 120, "the wallboard answering /healthz 200")
        _until(lambda: stack.get_json(f"wb:cursor:{SOURCE}"), 60, "the collector's first cursor")
        if plan.standby:
            stack.start("aggregate", name=STANDBY)
            _until(lambda: STANDBY in stack.output(STANDBY) and "standing by" in stack.output(STANDBY), 60, "a standby")
        end = started - 600.0  # the last call ends long before now
        lines = calls(rng, stack.queues, stack.members, end - plan.history_s, end - 1200.0, plan.lines, written)
        writer = Writer(queue_log, lines, plan, random.Random(plan.seed + 1))
        monitor.start()
        writer.start()
        t_write = time.monotonic()
        kill_all(stack, monitor, plan, rng, writer, deadline)
        kills_s = time.monotonic() - t_write
        if progress:
            print(f"{len(monitor.kills)} kills in {kills_s:.0f} s; waiting for the writer", flush=True)
        writer.join(max(1.0, deadline - time.monotonic()))
        if writer.error is not None or writer.is_alive():
            raise RuntimeError("the queue_log writer failed or did not finish") from writer.error
        write_s = writer.finished_at - t_write
        t_drain = time.monotonic()
        checkpoint = _until(lambda: drained(stack, writer, monitor.timers), plan.drain_timeout_s, "everything folded")
        drain_s = time.monotonic() - t_drain
        _until(lambda: all(len(k.recovered) == 3 for k in monitor.kills), RECOVERY_TIMEOUT_S + 5, "recoveries")
        monitor.stop.set()
        live = live_totals(checkpoint)
        t_report = time.monotonic()
        report = run_report(stack, writer.files, tmp)
        report_s = time.monotonic() - t_report
        pipeline = (stack.latest() or {}).get("pipeline", {})
        refused = checkpoint["state"].get("refused", {})
        rejected = checkpoint.get("rejected", 0)
        files = [str(f.name) for f in writer.files]
    finally:
        monitor.stop.set()
        for timer in monitor.timers:  # no standby started after the stack is closed
            timer.cancel()
            timer.join()
        stack.close()
    run_log = stack.output("run")
    redis_log = (stack.redis_dir / "redis.log").read_text(errors="replace")
    result = compare(live, report, written)
    by_kind = {kind: [k for k in monitor.kills if k.kind == kind] for kind in plan.kinds}
    result.update(
        {
            "command": plan.__dict__ | {"gap_s": list(plan.gap_s), "kinds": list(plan.kinds)},
            "lines": written.lines,
            "bytes": writer.bytes,
            "files": files,
            "seconds": {
                "writing": round(write_s, 1),
                "kills": round(kills_s, 1),
                "drain": round(drain_s, 1),
                "report": round(report_s, 1),
            },
            "kills": {kind: len(v) for kind, v in by_kind.items()},
            "kill_gaps_s": _stats([b.at - a.at for a, b in zip(monitor.kills, monitor.kills[1:])]),
            "recovery": {
                kind: {
                    name: _stats([k.recovered.get(name) for k in v if k.writing or name != "folded"])
                    for name in ("snapshot", "folded", "healthz")
                }
                for kind, v in by_kind.items()
            },
            "kills_after_writing": sum(not k.writing for k in monitor.kills),
            "kill_log": [
                {"kind": k.kind, "at": round(k.at - started, 2), "writing": k.writing, **k.recovered}
                | ({"killed": k.who, "then_active": k.after} if k.who else {})
                for k in monitor.kills
            ],
            # With a standby: which aggregator took over after each kill of the active one.
            "takeovers": dict(Counter(f"{k.who} -> {k.after}" for k in monitor.kills if k.who)),
            "standby_log": stack.output(STANDBY) if plan.standby else "",
            "deaths_logged": run_log.count("was killed by SIGKILL"),
            "restart_delays_s": dict(
                Counter(
                    line.split("restarting it in ")[1].split(" s")[0]
                    for line in run_log.splitlines()
                    if "restarting it in " in line
                )
            ),
            "tracebacks_in_log": run_log.count("Traceback"),
            "aof_fsync_postponed": redis_log.count("Asynchronous AOF fsync is taking too long"),
            "refused": refused,
            "rejected": rejected,
            "applied": pipeline.get("applied"),
            "duplicates": pipeline.get("duplicates"),
            "totals": {
                "live": live,
                "report": report,
                "written": {q: dict(c) for q, c in sorted(written.per_queue.items())},
            },
        }
    )
    return result


def summary(result: dict[str, Any]) -> str:
    """The Markdown tables of a result."""
    out = [
        f"{result['lines']:,} lines ({result['bytes'] / 1e6:.0f} MB) in {', '.join(result['files'])}; "
        f"kills: "
        + ", ".join(f"{k} {n}" for k, n in result["kills"].items())
        + f" ({sum(result['kills'].values())}; supervisor logged {result['deaths_logged']} SIGKILL deaths, "
        f"restart delays {result['restart_delays_s']}); kill gaps median {result['kill_gaps_s']['median_s']} s",
        f"seconds: {result['seconds']}; applied {result['applied']:,}, duplicates dropped {result['duplicates']:,}, "
        f"refused {result['refused']}, rejected {result['rejected']}, "
        f"Tracebacks in the log {result['tracebacks_in_log']}, "
        f"AOF fsync postponed (redis.log) {result['aof_fsync_postponed']}",
        "",
        "| queue | offered | answered | abandoned | other exits | handled | within SL | lost | counted twice |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    live = result["totals"]["live"]
    for qid in sorted(result["totals"]["report"]):
        lv = live.get(qid, {})
        lost = sum(result["lost"].get(qid, {}).values())
        doubled = sum(result["doubled"].get(qid, {}).values())
        out.append(
            f"| {qid} | "
            + " | ".join(
                f"{lv.get(k, 0):,}"
                for k in ("offered", "answered", "abandoned", "other_exits", "handled", "answered_within_sl")
            )
            + f" | {lost} | {doubled} |"
        )
    out += [
        "",
        "| killed | kills | fresh snapshot: median / max | events after the kill folded: median / max | "
        "/healthz 200: median / max |",
        "|---|---|---|---|---|",
    ]
    for kind, rec in result["recovery"].items():
        cells = []
        for name in ("snapshot", "folded", "healthz"):
            s = rec[name]
            cell = "—" if s["median_s"] is None else f"{s['median_s']:.2f} s / {s['max_s']:.2f} s"
            cells.append(cell + (f" ({s['never']} never)" if s["never"] else ""))
        out.append(f"| {kind} | {result['kills'][kind]} | " + " | ".join(cells) + " |")
    if result["kills_after_writing"]:
        out.append(f"\n(folded: only the kills while lines were written; {result['kills_after_writing']} came after)")
    if result["averages_differ"] or result["report_vs_written"]:
        out += [
            "",
            f"averages that differ: {result['averages_differ']}",
            f"report vs written: {result['report_vs_written']}",
        ]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    d = Plan()
    parser.add_argument("--lines", type=int, default=d.lines)
    parser.add_argument("--kills", type=int, default=d.kills)
    parser.add_argument("--duration", type=float, default=d.duration_s, help="seconds to write the lines over")
    parser.add_argument("--healthy-s", type=float, default=d.healthy_s)
    parser.add_argument("--rotations", type=int, default=d.rotations)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument(
        "--json", type=Path, default=ROOT / "bench" / "results" / "faults.json", help="where to save the result"
    )
    parser.add_argument("--keep", type=Path, help="run in this directory (kept) instead of a temporary one")
    parser.add_argument(
        "--standby",
        action="store_true",
        help=f"a second aggregator ({STANDBY}); each aggregator kill is of the active one",
    )
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="what is killed")
    parser.add_argument("--gap", type=float, nargs=2, default=list(d.gap_s), metavar=("MIN", "MAX"))
    args = parser.parse_args()
    plan = Plan(
        lines=args.lines,
        kills=args.kills,
        duration_s=args.duration,
        healthy_s=args.healthy_s,
        rotations=args.rotations,
        seed=args.seed,
        gap_s=(args.gap[0], args.gap[1]),
        standby=args.standby,
        kinds=tuple(args.kinds),
    )
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        result = campaign(plan, args.keep.resolve(), progress=True)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = campaign(plan, Path(tmp), progress=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    print(summary(result))
    if plan.standby:
        print(f"takeovers (killed -> then active): {result['takeovers']}")
    print(f"\nsaved {args.json}")
    if result["lost"] or result["doubled"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
