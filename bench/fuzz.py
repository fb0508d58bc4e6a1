"""Fuzz every translator with N seeded inputs each and print what came out (docs/BENCHMARKS.md).

    .venv/bin/python bench/fuzz.py                      # 100 000 inputs per translator, seed 1
    .venv/bin/python bench/fuzz.py --count 10000 --seed 7 --only ami

The harnesses are the tests' own (tests/fuzz/); a run is repeatable from its
seed. For each: inputs, how many were valid (events checked against the
hand-written expectation) and known bad (each must be rejected once),
rejections, crashes (an exception other than the documented rejection),
mismatches, miscounted rejections, and emitted events the stream would refuse;
then the first failing inputs. Exit status 1 if anything failed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fuzz import ami, freeswitch, http_ingest, queue_log, subscribe
from tests.fuzz.garbage import FuzzReport


def _queue_log_surrogates(n: int, seed: int) -> FuzzReport:
    return queue_log.fuzz_lines(n, seed, surrogates=True)


def _subscribe_endpoint(n: int, seed: int) -> FuzzReport:
    return subscribe.fuzz_messages(n, seed, endpoint=True)


HARNESSES: dict[str, list[Callable[[int, int], FuzzReport]]] = {
    "ami": [ami.fuzz_translator, ami.fuzz_wire],
    "freeswitch": [freeswitch.fuzz_translator, freeswitch.fuzz_wire, freeswitch.fuzz_resync],
    "queue_log": [queue_log.fuzz_lines, _queue_log_surrogates],
    "http": [http_ingest.fuzz_batches],
    "subscribe": [subscribe.fuzz_messages, _subscribe_endpoint],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000, help="inputs per harness (default 100 000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", choices=sorted(HARNESSES), action="append", help="run only these (repeatable)")
    parser.add_argument("--show", type=int, default=3, help="failing inputs shown per harness")
    args = parser.parse_args()
    failed = False
    print(
        f"{'harness':<48} {'inputs':>8} {'valid':>7} {'known bad':>9} {'rejected':>8} {'crashes':>7} "
        f"{'mismatch':>8} {'miscount':>8} {'bad events':>10} {'time':>6}"
    )
    for name in args.only or list(HARNESSES):
        for harness in HARNESSES[name]:
            started = time.perf_counter()
            r = harness(args.count, args.seed)
            took = time.perf_counter() - started
            print(
                f"{r.name:<48} {r.inputs:>8} {r.valid:>7} {r.known_bad:>9} {r.rejected:>8} {len(r.crashes):>7} "
                f"{len(r.mismatches):>8} {len(r.miscounts):>8} {len(r.invalid_events):>10} {took:>5.1f}s"
            )
            for problem in [
                *r.crashes[: args.show],
                *r.mismatches[: args.show],
                *r.miscounts[: args.show],
                *r.invalid_events[: args.show],
            ]:
                print(f"    {problem[:300]}")
            failed = failed or bool(r.problems())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
