"""Seeded garbage for the fuzz harnesses, and the record of one fuzz run.

Every harness takes a count and a seed, so the same run can be repeated
exactly (a failure's seed is its reproduction) and a bench run can ask for
100 000 inputs. Valid input uses identifiers starting with :data:`VALID`,
which no generator here ever produces, so garbage can never touch the state a
valid message's events depend on.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from wallboard.events import Event
from wallboard.wire import as_dict, decode, pack

VALID = "VALID"
#: A recognisable fake caller number and agent name: they must never show in a reason or a log line.
FAKE_NUMBER = "+34699555123"
FAKE_NAME = "Zacarías Pérez-Ñúñez"

# Values that have broken parsers before, or could: numbers in every wrong shape, text that
# is not quite text.
_NASTY = (
    "",
    " ",
    "  ",
    "\t",
    "0",
    "1",
    "-1",
    "-5",
    "-0",
    "+3",
    "00",
    "0.5",
    "1e3",
    "1e9",
    "12e9",
    "1e400",
    "-1e400",
    "nan",
    "NaN",
    "-nan",
    "inf",
    "-inf",
    "Infinity",
    "0x10",
    "1_000",
    " 12 ",
    "12,5",
    "١٢",
    "٣",
    "²",
    "½",
    "Ⅻ",
    "９",
    "1773129500",
    "1773129500.123",
    "1773129500123456",
    str(2**63),
    str(-(2**63)),
    "9" * 20,
    "9" * 400,
    "9" * 5000,
    "1." + "5" * 30,
    "c" * 150,
    "\ud800" + "d" * 199,
    "Ω" * 200,
    "\x00",
    "\x00\x00",
    "\r",
    "\n",
    ":",
    ": ",
    "|",
    "||",
    "%",
    "%zz",
    "%00",
    "%0A",
    "\ud800",
    "\udcff",
    "\udc80",
    "a\ud83dz",
    "\ufeff",
    "\u202e",
    "é",
    "ñ",
    "Ω" * 10,
    "😀",
    "null",
    "(null)",
    "None",
    "NONE",
    "true",
    "false",
    "yes",
    "[]",
    "{}",
    "'",
    '"',
    "\\",
    "a" * 257,
    "b" * 1000,
    "x" * 70_000,
    FAKE_NUMBER,
    FAKE_NAME,
)
_ALPHABET = "abcXYZ019 -_/@.:|%\t\r\n\x00é²٣Ω😀\ud800\udcff"


class Garbage(random.Random):
    """A seeded source of garbage (a :class:`random.Random` with helpers)."""

    def nasty(self) -> str:
        return self.choice(_NASTY)

    def junk_text(self, max_len: int = 40) -> str:
        """A random short string over an alphabet of troublemakers (never starts with VALID)."""
        return "".join(self.choice(_ALPHABET) for _ in range(self.randrange(max_len + 1)))

    def value(self) -> str:
        """Any field value: nasty, random junk, or a plausible number."""
        r = self.random()
        if r < 0.45:
            return self.nasty()
        if r < 0.75:
            return self.junk_text()
        if r < 0.9:
            return str(self.randrange(-10, 100_000))
        return f"{self.uniform(-1e3, 5e9):.6f}"

    def ident(self, prefix: str) -> str:
        """An identifier in the garbage namespace (sometimes odd, never VALID…)."""
        if self.random() < 0.15:
            return self.nasty() or "g"
        return f"g{prefix}{self.randrange(50)}"

    def json_value(self, depth: int = 3) -> Any:
        """Any JSON value, as a stored cursor or a client's payload may hold: huge ints, NaN, nesting."""
        r = self.random()
        if depth <= 0 or r < 0.5:
            return self.choice(
                (
                    None,
                    True,
                    False,
                    0,
                    -1,
                    1,
                    2**63,
                    10**400,
                    -(10**400),
                    1.5,
                    float("nan"),
                    float("inf"),
                    -float("inf"),
                    1e308,
                    1_773_129_500,
                    1_773_129_500.5,
                    -1e-300,
                    self.value(),
                    self.nasty(),
                    self.randrange(-(10**6), 10**10),
                )
            )
        if r < 0.75:
            return [self.json_value(depth - 1) for _ in range(self.randrange(8))]
        return {
            self.choice(("version", "calls", "members", "waiting", "kind", "id", self.value())): self.json_value(
                depth - 1
            )
            for _ in range(self.randrange(6))
        }

    def raw_bytes(self, max_len: int = 200) -> bytes:
        return self.randbytes(self.randrange(max_len + 1))

    def mutate_text(self, text: str) -> str:
        """Truncated, extended, a character replaced, doubled or blanked."""
        choice = self.randrange(6)
        if choice == 0 or not text:
            return text[: self.randrange(len(text) + 1)]
        if choice == 1:
            return text + self.nasty()
        if choice == 2:
            i = self.randrange(len(text))
            return text[:i] + self.choice(_ALPHABET) + text[i + 1 :]
        if choice == 3:
            return text * self.randrange(2, 50)
        if choice == 4:
            return ""
        return self.nasty()

    def mutate_dict(self, d: dict[str, str], keys: tuple[str, ...]) -> dict[str, str]:
        """1 to 4 mutations: a key dropped, a value replaced or mutated, a key added."""
        out = dict(d)
        for _ in range(self.randint(1, 4)):
            op = self.randrange(4)
            if op == 0 and out:
                del out[self.choice(sorted(out))]
            elif op == 1 and out:
                out[self.choice(sorted(out))] = self.value()
            elif op == 2 and out:
                k = self.choice(sorted(out))
                out[k] = self.mutate_text(out[k])
            else:
                out[self.choice(keys) if self.random() < 0.7 else self.junk_text(12)] = self.value()
        return out


@dataclass
class FuzzReport:
    """What one fuzz run saw; a harness fills it, a test asserts on it, bench/fuzz.py prints it."""

    name: str
    inputs: int = 0
    valid: int = 0  # inputs known valid, whose events were checked against the expectation
    known_bad: int = 0  # inputs known invalid: each must be rejected exactly once
    rejected: int = 0  # rejections the translator reported (of known-bad and of garbage)
    accepted_garbage: int = 0  # garbage that happened to be usable
    events: int = 0
    crashes: list[str] = field(default_factory=list)  # an exception other than the documented rejection
    mismatches: list[str] = field(default_factory=list)  # a valid message's events were not the expected ones
    miscounts: list[str] = field(default_factory=list)  # a rejection not counted, or counted twice
    invalid_events: list[str] = field(default_factory=list)  # an emitted event the stream would refuse

    def problems(self) -> list[str]:
        """Every failure, the first few of each kind, each with its input."""
        return [*self.crashes[:5], *self.mismatches[:5], *self.miscounts[:5], *self.invalid_events[:5]]

    def line(self) -> str:
        return (
            f"{self.name}: {self.inputs} inputs ({self.valid} valid, {self.known_bad} known bad), "
            f"{self.rejected} rejected, {self.events} events, {len(self.crashes)} crashes, "
            f"{len(self.mismatches)} mismatches, {len(self.miscounts)} miscounts, "
            f"{len(self.invalid_events)} invalid events"
        )

    def crash(self, what: Any, exc: BaseException) -> None:
        self.crashes.append(f"{type(exc).__name__}: {str(exc)[:200]} on {short(what)}")

    def check_events(self, events: list[Any], what: Any) -> None:
        """Every event must survive the stream's own validation unchanged."""
        self.events += len(events)
        for e in events:
            try:
                again = decode({"e": pack(e)})
                if as_dict(again) != as_dict(e):
                    raise ValueError(f"changed by a round trip: {as_dict(e)} → {as_dict(again)}")
            except (ValueError, TypeError, OverflowError) as exc:
                self.invalid_events.append(f"{exc} from {short(what)}")


def short(what: Any, limit: int = 600) -> str:
    text = repr(what)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


def expected(kind: str, ts: float, **fields: Any) -> dict[str, Any]:
    """An event as :func:`signature` gives it, with the defaults filled in (for hand-written expectations)."""
    return signature(decode({"kind": kind, "id": "x", "source": "s", "ts": ts, **fields}))


def signature(e: Event) -> dict[str, Any]:
    """An event without its id and source (what the expectations name)."""
    d = as_dict(e)
    del d["id"], d["source"]
    return d
