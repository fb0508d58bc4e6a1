"""Following a log file as it is written: whole lines only, across rotations.

:class:`Tail` reads complete lines from where it stopped (a half-written last
line waits for its ``\\n``), skips and reports a line longer than the limit
without buffering it, and tells the caller when the file it holds was
rotated: *renamed* (logrotate's default: a new file appears at the path; the
old one is read to its end first) or *truncated* (``copytruncate``: the same
file shrank). Its :class:`Position` (device, inode, offset, a hash of the
first line) is what a collector stores to resume after a restart, and
:func:`find_rotated` finds the file a position belonged to after it was
rotated away (same inode, or the same first line for a copy).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

from wallboard.collectors.common.limits import MAX_LINE

_CHUNK = 1 << 20
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".zip")


@dataclass(slots=True)
class Position:
    """Where a tail stands: which file (device, inode, first-line hash) and how far."""

    dev: int
    inode: int
    head: str
    offset: int
    lineno: int

    def as_dict(self) -> dict[str, Any]:
        """The position as JSON-ready values, for the stored cursor."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Position | None:
        """A position read back from the stored cursor, or None if it is not one."""
        try:
            return cls(
                int(data["dev"]), int(data["inode"]), str(data["head"]), int(data["offset"]), int(data["lineno"])
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(slots=True)
class Line:
    """One complete line of the file, decoded, with where it ends (the position just past it)."""

    lineno: int
    text: str
    end: int  # file offset just past this line's newline


class Tail:
    """Complete lines of one file from an offset on; :meth:`rotation` says when to switch files."""

    def __init__(self, path: Path, max_line: int = MAX_LINE) -> None:
        self.path = path
        self.max_line = max_line
        self.problems: list[str] = []  # oversized lines skipped since the caller last looked
        self._file: BinaryIO | None = None
        self.dev = self.inode = 0
        self.head = ""
        self.offset = 0  # just past the last complete line handed out
        self.lineno = 0
        self._partial = bytearray()
        self._skipping = -1  # bytes of an oversized line skipped so far, -1 when not skipping

    @property
    def is_open(self) -> bool:
        """A file is open (False before the first open, and after a rotation took it away)."""
        return self._file is not None

    def open(self, offset: int = 0, lineno: int = 0) -> bool:
        """Open the file at ``path`` (False if there is none yet) and continue at ``offset``."""
        self.close()
        try:
            f = open(self.path, "rb")  # noqa: SIM115 - kept open while following
        except FileNotFoundError:
            return False
        st = os.fstat(f.fileno())
        self._file, self.dev, self.inode = f, st.st_dev, st.st_ino
        self.head = first_line_hash(f)
        f.seek(offset)
        self.offset, self.lineno = offset, lineno
        self._partial.clear()
        self._skipping = -1
        return True

    def close(self) -> None:
        """Close the file (a closed tail can be opened again)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def position(self) -> Position:
        """Where the tail stands now, to be stored (the first line's hash is taken once there is one)."""
        if not self.head and self._file is not None:
            self.head = first_line_hash(self._file)
        return Position(self.dev, self.inode, self.head, self.offset, self.lineno)

    def size(self) -> int:
        """The open file's size now."""
        assert self._file is not None
        return os.fstat(self._file.fileno()).st_size

    def read(self, max_bytes: int = _CHUNK) -> list[Line] | None:
        """The complete lines now available (``[]`` if a chunk held none); None at the end of the file."""
        assert self._file is not None
        data = self._file.read(max_bytes)
        if not data:
            return None
        out: list[Line] = []
        start = 0
        base = self.offset + len(self._partial) + (self._skipping if self._skipping > 0 else 0)
        while True:
            i = data.find(b"\n", start)
            if i < 0:
                break
            end = base + i + 1
            if self._skipping >= 0:
                self.problems.append(
                    f"line {self.lineno + 1}: longer than {self.max_line} bytes ({self._skipping + i} bytes), skipped"
                )
                self._skipping = -1
            else:
                if self._partial:
                    self._partial += data[start:i]
                    raw = bytes(self._partial)
                    self._partial.clear()
                else:
                    raw = data[start:i]
                if len(raw) > self.max_line:
                    self.problems.append(
                        f"line {self.lineno + 1}: longer than {self.max_line} bytes ({len(raw)} bytes), skipped"
                    )
                else:
                    out.append(Line(self.lineno + 1, raw.decode("utf-8", "replace"), end))
            self.lineno += 1
            self.offset = end
            start = i + 1
        rest = data[start:]
        if self._skipping >= 0:
            self._skipping += len(rest)
        elif len(self._partial) + len(rest) > self.max_line:
            self._skipping = len(self._partial) + len(rest)
            self._partial.clear()
        else:
            self._partial += rest
        return out

    def unfinished(self) -> int:
        """Bytes of a last line still waiting for its newline."""
        return len(self._partial) + max(self._skipping, 0)

    def rotation(self) -> str:
        """At the end of the file: ``""`` (same file), ``"renamed"`` or ``"truncated"``."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return ""  # rotated away and not re-created yet: keep reading the old one
        if (st.st_dev, st.st_ino) != (self.dev, self.inode):
            return "renamed"
        if st.st_size < self.offset:
            return "truncated"
        if self.head and self._file is not None and first_line_hash(self._file) not in ("", self.head):
            return "truncated"  # truncated and already written past where we were
        return ""


def first_line_hash(f: BinaryIO) -> str:
    """Hash of the file's first complete line ("" while it has none): which file this is."""
    data = os.pread(f.fileno(), 4096, 0)
    i = data.find(b"\n")
    return hashlib.blake2b(data[:i], digest_size=8).hexdigest() if i >= 0 else ""


def find_rotated(path: Path, pos: Position) -> Path | None:
    """The file ``pos`` was taken in, now under another name next to ``path`` (None if gone)."""
    candidates = sorted(
        p for p in path.parent.glob(path.name + "*") if p != path and p.is_file() and not p.name.endswith(_COMPRESSED)
    )
    for p in candidates:  # renamed: the same inode
        st = p.stat()
        if (st.st_dev, st.st_ino) == (pos.dev, pos.inode):
            return p
    for p in candidates:  # copied then truncated: the same first line, at least as long
        if pos.head and p.stat().st_size >= pos.offset:
            with open(p, "rb") as f:
                if first_line_hash(f) == pos.head:
                    return p
    return None
