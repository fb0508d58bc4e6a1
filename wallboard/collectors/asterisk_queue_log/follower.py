"""The live tail of one queue_log: lines sent as they land, the position stored, a restart, a rotation.

Every batch of events is emitted before the cursor that says it was sent is
stored, so a restart re-sends at most the last batch (the ids make a re-sent
event count once) and never skips one. On a restart the lines up to the stored
position are read again for the translator's state only (who is paused, which
calls wait), not sent; only the static members' queues and state are sent
again (a board that has them is not moved by them). logrotate's two ways are both followed: a *renamed*
file is read to its end, and on for ``rotate_grace_s`` while Asterisk may
still write to it; a *truncated* one (``copytruncate``) is finished in the
copy next to it, then read from its start.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING

from wallboard.clock import day_start_at
from wallboard.collectors.asterisk_queue_log.lines import QueueLogStats, epoch
from wallboard.collectors.asterisk_queue_log.options import Options
from wallboard.collectors.asterisk_queue_log.tail import Line, Position, Tail, find_rotated
from wallboard.collectors.asterisk_queue_log.translator import QueueLogTranslator
from wallboard.events import Event

if TYPE_CHECKING:
    from wallboard.collectors.runtime import CollectorContext


class Follower:
    """The tail of one queue_log for one collector: translation, emission, position.

    The stored cursor holds the position in the file followed (``position``),
    in the file it replaced while that one may still be written to
    (``previous``), and, during a first start's load, the time from which
    lines are sent (``emit_from``), so a restart at any point continues
    exactly where the last stored batch ended.
    """

    def __init__(self, ctx: CollectorContext[Options], path: Path) -> None:
        options = ctx.options
        self.ctx = ctx
        self.options = options
        self.path = path
        self.translator = QueueLogTranslator(
            ctx.source,
            ctx.config.agent_aliases(),
            ctx.config.pause_reason_codes(),
            static_members=options.static_members,
            system=options.system,
        )
        self.tail = Tail(path, options.max_line_bytes)
        #: After a rename, the old file: Asterisk writes to it until its logger reloads.
        self.previous: Tail | None = None
        self._previous_active = 0.0
        self.emit_from: float | None = None  # while loading: events before this are not sent
        self._malformed = 0

    def close(self) -> None:
        """Let go of the files (the stored cursor says where to go on)."""
        self.tail.close()
        if self.previous is not None:
            self.previous.close()

    async def start(self) -> None:
        """Wait for the file, then take up where the stored cursor says: resume in the same file,
        finish the one rotated away while stopped, or (a first start) load today or skip to the end."""
        ctx, tail = self.ctx, self.tail
        while not tail.open():
            ctx.set_connected(False, f"{self.path}: no such file (waiting for it)")
            await ctx.heartbeat()
            await asyncio.sleep(self.options.poll_s)
        ctx.set_connected(True)
        cursor = await ctx.load_cursor()
        saved = Position.from_dict(cursor.get("position") or {})
        previous = Position.from_dict(cursor.get("previous") or {})
        emit_from = cursor.get("emit_from")
        self.emit_from = float(emit_from) if isinstance(emit_from, (int, float)) else None
        if previous is not None:  # stopped while the file it replaced could still grow: follow it on
            await self._finish_rotated(previous, replay=True, keep=True)
        if (
            saved is not None
            and (saved.dev, saved.inode) == (tail.dev, tail.inode)
            and saved.head in ("", tail.head)
            and tail.size() >= saved.offset
        ):
            ctx.log.info("resuming %s at byte %d (line %d)", self.path, saved.offset, saved.lineno)
            await self._replay(tail, saved.offset)
            await self._send(self._static_standing(), tail)
            return
        if saved is not None:  # rotated while we were away: finish the old file first, and follow it on
            await self._finish_rotated(saved, replay=True, keep=True)
            await self._send(self._static_standing(), tail)  # (the new file, opened above, is read from its start)
            await self._drain(tail)
            return
        if self.options.load_today:
            self.emit_from = day_start_at(time.time(), ctx.config.zone, ctx.config.day_start_time)
            ctx.log.info("first start: loading today's lines of %s", self.path)
        else:
            self.emit_from = float("inf")
            ctx.log.info("first start: reading %s to its end without sending (load_today is off)", self.path)
        await self._drain(tail)
        if self.emit_from is not None:  # nothing in the file was from today
            carried = self.translator.carry_over(min(self.emit_from, time.time()))
            self.emit_from = None
            await self._send(carried, tail)

    def _static_standing(self) -> list[Event]:
        """On a restart, the static members as the lines read so far leave them, as of the newest line:
        a member added to ``static_members`` while the collector was stopped was never sent."""
        translator = self.translator
        return translator.static_standing(translator.last_ts or time.time())

    async def _finish_rotated(self, pos: Position, *, replay: bool, keep: bool = False) -> None:
        """Send the rest of the file ``pos`` was taken in, found next to the path after a rotation.

        With ``keep`` the old file stays followed as :attr:`previous` for ``rotate_grace_s``, as it
        would have been had the collector not stopped: Asterisk writes to it until its logger reloads.
        """
        old_path = find_rotated(self.path, pos)
        if old_path is None:
            self.ctx.log.warning(
                "%s was rotated while the collector was stopped and the old file (byte %d on) is "
                "not next to it any more (compressed at once? use delaycompress): its last lines "
                "are missed",
                self.path,
                pos.offset,
            )
            return
        self.ctx.log.info("finishing the rotated %s from byte %d", old_path, pos.offset)
        old = Tail(old_path, self.options.max_line_bytes)
        if not (old.open() if replay else old.open(pos.offset, pos.lineno)):
            return
        try:
            if replay:
                await self._replay(old, pos.offset)
            await self._drain(old, save=False)
        except BaseException:
            old.close()
            raise
        if not keep:
            old.close()
            return
        if self.previous is not None:
            self.previous.close()
        self.previous, self._previous_active = old, time.monotonic()

    async def _replay(self, tail: Tail, upto: int) -> None:
        """Read ``tail`` up to ``upto`` for the translator's state only: these lines were sent before."""
        translator = self.translator
        saved_stats = translator.stats
        translator.stats = QueueLogStats()
        while True:
            at = tail.offset + tail.unfinished()  # where the file is read next
            if at >= upto:
                break
            lines = tail.read(min(1 << 20, upto - at))
            if lines is None:
                break
            for line in lines:
                translator.feed(line.text, line.lineno)
            await asyncio.sleep(0)
        translator.stats = saved_stats
        tail.problems.clear()

    async def _drain(self, tail: Tail, *, save: bool = True) -> None:
        """Send everything ``tail`` has up to the end of its file."""
        while await self._step(tail, save=save):
            pass

    async def _step(self, tail: Tail, *, save: bool = True) -> bool:
        """Send what one read of ``tail`` gives; False at the end of the file."""
        lines = tail.read()
        for problem in tail.problems:
            self.ctx.reject(f"{tail.path}: {problem}")
        tail.problems.clear()
        if lines is None:
            return False
        translator, stats = self.translator, self.translator.stats
        batch: list[Event] = []
        for line in lines:
            if self.emit_from is not None and epoch(line.text) >= self.emit_from:
                # the first line of the window: first what the earlier lines left standing
                batch.extend(translator.carry_over(self.emit_from))
                self.emit_from = None
            events = translator.feed(line.text, line.lineno)
            if stats.malformed != self._malformed:
                self._malformed = stats.malformed
                self.ctx.reject(f"{tail.path}: {stats.last_error}")
            if self.emit_from is None:
                batch.extend(events)
            if len(batch) >= self.options.batch_lines:
                await self._send(batch, tail, line, save=save)
                batch = []
        await self._send(batch, tail, save=save)
        return True

    async def _send(self, events: list[Event], tail: Tail, last: Line | None = None, *, save: bool = True) -> None:
        """Emit, then store where every file stands (``tail`` just past ``last``, or all it read)."""
        if events:
            await self.ctx.emit(events)
        if not save:
            return
        cursor: dict[str, object] = {"emit_from": self.emit_from}
        for key, t in (("position", self.tail), ("previous", self.previous)):
            if t is None or not t.is_open:
                continue
            pos = t.position()
            if t is tail and last is not None:
                pos.offset, pos.lineno = last.end, last.lineno
            cursor[key] = pos.as_dict()
        await self.ctx.save_cursor(cursor)

    async def poll(self) -> None:
        """Send new complete lines; switch files after a rotation."""
        if self.previous is not None:
            await self._poll_previous()
        tail = self.tail
        if not tail.is_open and not tail.open():
            return  # rotated away and not re-created yet
        how = tail.rotation()  # before reading: a truncated file must not be read at the old offset
        if how == "truncated":
            await self._truncated()
        elif how == "renamed":
            await self._drain(tail)
            self.ctx.log.info(
                "%s was rotated (renamed): following the new file, and the old one for %g s more",
                self.path,
                self.options.rotate_grace_s,
            )
            self.previous, self._previous_active = tail, time.monotonic()
            self.tail = Tail(self.path, self.options.max_line_bytes)
            if self.tail.open():
                await self._send([], self.tail)
                await self._drain(self.tail)
        else:
            await self._step(tail)

    async def _poll_previous(self) -> None:
        """Read what Asterisk still wrote to the renamed file; let it go once quiet for the grace."""
        previous = self.previous
        assert previous is not None
        if await self._step(previous):
            self._previous_active = time.monotonic()
            return
        if time.monotonic() - self._previous_active < self.options.rotate_grace_s:
            return
        if previous.unfinished():
            self.ctx.reject(f"{previous.path}: its last line never ended ({previous.unfinished()} bytes dropped)")
        previous.close()
        self.previous = None
        await self._send([], self.tail)

    async def _truncated(self) -> None:
        """copytruncate: the lines written just before the truncation are in the copy next to it."""
        tail = self.tail
        saved = tail.position()
        copy = find_rotated(self.path, saved)
        if copy is not None and copy.stat().st_size > saved.offset:
            old = Tail(copy, self.options.max_line_bytes)
            if old.open(saved.offset, saved.lineno):
                self.ctx.log.info(
                    "%s was copied to %s and truncated: reading its last %d bytes there",
                    self.path,
                    copy,
                    copy.stat().st_size - saved.offset,
                )
                try:
                    await self._drain(old, save=False)
                finally:
                    old.close()
        elif tail.unfinished():
            self.ctx.reject(
                f"{tail.path}: last line before the truncation never ended ({tail.unfinished()} bytes dropped)"
            )
        self.ctx.log.info("%s was rotated (truncated): reading it from the start", self.path)
        if tail.open():
            await self._send([], tail)
