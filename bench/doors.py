"""What the doors cost: a sign-in's argon2 check, and the gate's work per request and per socket.

    .venv/bin/python bench/doors.py [--requests 20000]

Prints the median of 5 runs of each: verifying a password (argon2id, argon2-cffi's defaults), the
gate finding the principal of a request with a person's session cookie, a screen's cookie and a
display key in ``Authorization``, and the policy deciding a page and a subscription. No server: the
gate's own functions on real signed cookies and a real key ring (records as Redis would hold them).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.stack import demo_config
from wallboard.access import may_open, may_subscribe
from wallboard.config import parse_config
from wallboard.display_keys import KeyRecord, KeyRing, digest
from wallboard.doors.gate import Gate
from wallboard.tokens import Signer
from wallboard.users import UserStore, verify
from wallboard.views import Selector


def median_us(fn: Callable[[], object], n: int, runs: int = 5) -> float:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        out.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw = demo_config()
        raw["auth"] = {"users_file": str(Path(tmp) / "users.yaml")}
        config = parse_config(raw, source="bench")
        users = UserStore(config.users_file())
        user = users.add("lucia", "team_leader", "a-long-password", teams=("norte",))
        signer = Signer("s" * 48)

        class Store:  # the ring's records, as read from Redis
            pass

        ring = KeyRing(Store())  # type: ignore[arg-type]
        key = "wbk_" + "k" * 43
        ring.records = {
            f"tv-{i}": KeyRecord(f"tv-{i}", f"{i:016x}", digest(f"wbk_other{i}"), ("ventas",)) for i in range(50)
        }
        ring.records["tv-ventas"] = KeyRecord("tv-ventas", "abcd", digest(key), ("ventas",))
        gate = Gate(lambda *a: None, config)  # type: ignore[arg-type,return-value]
        gate.users = users
        gate.signer, gate.ring = signer, ring

        session = signer.session({"k": "user", "u": "lucia", "c": repr(user.changed)}, 3600)
        screen = signer.display("tv-ventas", "abcd")

        def scope(headers: list[tuple[bytes, bytes]]) -> dict[str, object]:
            return {"type": "http", "path": "/team/norte", "headers": headers}

        with_session = scope([(b"cookie", f"wb_session={session}".encode())])
        with_screen = scope([(b"cookie", f"wb_display={screen}".encode())])
        with_bearer = scope([(b"authorization", f"Bearer {key}".encode())])
        assert gate.principal(with_session) is not None and gate.principal(with_screen) is not None
        assert gate.principal(with_bearer) is not None

        n = args.requests
        t_argon = median_us(lambda: verify(user, "a-long-password"), 20)
        t_session = median_us(lambda: gate.principal(with_session), n)
        t_screen = median_us(lambda: gate.principal(with_screen), n)
        t_bearer = median_us(lambda: gate.principal(with_bearer), n)
        who = gate.principal(with_session)
        assert who is not None
        selector = Selector("team", (), "norte")
        t_policy = median_us(lambda: (may_open(who.grant, "/team/norte"), may_subscribe(who.grant, selector)), n)
    print("median of 5 runs, microseconds per call")
    print(f"  argon2id verify of a password (sign-in)        {t_argon:10.0f}")
    print(f"  principal from a person's session cookie       {t_session:10.1f}")
    print(f"  principal from a screen's cookie (51 keys)     {t_screen:10.1f}")
    print(f"  principal from a display key in Authorization  {t_bearer:10.1f}")
    print(f"  policy: a page and a subscription              {t_policy:10.2f}")


if __name__ == "__main__":
    main()
