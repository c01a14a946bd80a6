"""Long fuzzing runs of one loader (coverage-guided with atheris; ``pip install atheris``), from
the seeds of ``tests/fuzz_targets.py``. A crash stops the run and leaves its input in
``--artifacts`` (make it a regression test in tests/test_fuzz_regressions.py).

    PYTHONPATH=. nice -n 15 python benchmarks/fuzz.py --loader image --inputs 1000000
    PYTHONPATH=. python benchmarks/fuzz.py --list

``--plain`` needs no atheris and leaves the code uninstrumented: each input is a seed with one to
four stacked mutations (bit flips, interesting bytes and integers, inserted, deleted, repeated
or spliced ranges), without coverage feedback: a mutation fuzzer rather than a coverage-guided
one, several times as many inputs per second.

Prints the number of inputs run (libFuzzer's ``#N DONE`` line, or ours on Ctrl-C/--seconds).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import random
import sys
import tempfile
import time
import warnings
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loader", help="which loader (see --list)")
    parser.add_argument("--inputs", type=int, default=1_000_000, help="inputs to run")
    parser.add_argument("--seconds", type=int, default=0, help="stop after this long (0: never)")
    parser.add_argument("--artifacts", type=Path, default=Path("benchmarks/out/fuzz"))
    parser.add_argument("--list", action="store_true", help="list the loaders")
    parser.add_argument("--plain", action="store_true",
                        help="no coverage instrumentation (mutation only, faster)")
    args = parser.parse_args()
    if not args.plain:
        import atheris
    instrumented = contextlib.nullcontext() if args.plain else atheris.instrument_imports(
        include=["painterly", "PIL", "tests"])
    with instrumented:
        import painterly.web.app  # noqa: F401  (the targets import these lazily)
        from tests.fuzz_targets import TARGETS
    if args.list or args.loader not in TARGETS:
        print("loaders:", ", ".join(TARGETS))
        sys.exit(0 if args.list else 2)
    target = TARGETS[args.loader]
    warnings.simplefilter("ignore")
    args.artifacts.mkdir(parents=True, exist_ok=True)
    corpus = Path(tempfile.mkdtemp(prefix=f"fuzz-{args.loader}-"))
    if args.plain:
        mutate_seeds(target, list(target.seeds()), args)
        return
    for number, seed in enumerate(target.seeds()):
        (corpus / f"seed{number}").write_bytes(seed)
    options = [sys.argv[0], str(corpus), f"-runs={args.inputs}", "-timeout=20",
               "-rss_limit_mb=3072", "-max_len=65536", "-print_final_stats=1",
               f"-artifact_prefix={args.artifacts}/{args.loader}-"]
    if args.seconds:
        options.append(f"-max_total_time={args.seconds}")
    atheris.Setup(options, target)
    atheris.Fuzz()


INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000,
               0xFFFFFFFF]


def mutate(data: bytes, seeds: list[bytes], rng: random.Random) -> bytes:
    """``data`` with one random change."""
    buffer = bytearray(data)
    at = rng.randrange(len(buffer) + 1)
    kind = rng.randrange(7)
    if kind == 0 and buffer:  # flip a bit
        at = min(at, len(buffer) - 1)
        buffer[at] ^= 1 << rng.randrange(8)
    elif kind == 1 and buffer:  # a random byte
        buffer[min(at, len(buffer) - 1)] = rng.randrange(256)
    elif kind == 2:  # an interesting integer, 1, 2 or 4 bytes, either byte order
        width = rng.choice((1, 2, 4))
        value = rng.choice(INTERESTING) & ((1 << 8 * width) - 1)
        buffer[at:at + width] = value.to_bytes(width, rng.choice(("little", "big")))
    elif kind == 3:  # insert random bytes
        buffer[at:at] = rng.randbytes(rng.randint(1, 16))
    elif kind == 4 and buffer:  # delete a range
        del buffer[at:at + rng.randint(1, max(1, len(buffer) // 8))]
    elif kind == 5 and buffer:  # repeat a range
        start = rng.randrange(len(buffer))
        piece = buffer[start:start + rng.randint(1, 64)]
        buffer[at:at] = piece * rng.randint(1, 8)
    else:  # splice another seed's tail
        other = rng.choice(seeds)
        buffer = buffer[:at] + other[rng.randrange(len(other) + 1):]
    return bytes(buffer[:65536])


def mutate_seeds(target, seeds: list[bytes], args: argparse.Namespace) -> None:
    """Run ``args.inputs`` mutated seeds through ``target`` (or until ``args.seconds``); a crash
    leaves its input in ``args.artifacts`` and re-raises."""
    rng = random.Random(0)
    start = time.monotonic()
    count = 0
    for count in range(1, args.inputs + 1):
        data = rng.choice(seeds)
        for _ in range(rng.randint(1, 4)):
            data = mutate(data, seeds, rng)
        try:
            target(data)
        except KeyboardInterrupt:
            print(f"#{count - 1} interrupted after {time.monotonic() - start:.0f} s", flush=True)
            return
        except Exception:
            path = args.artifacts / f"{args.loader}-crash-{hashlib.sha1(data).hexdigest()}"
            path.write_bytes(data)
            print(f"crash after {count} inputs; input in {path}", flush=True)
            raise
        if count % 100_000 == 0:
            print(f"#{count} {count / (time.monotonic() - start):.0f} inputs/s", flush=True)
        if args.seconds and time.monotonic() - start > args.seconds:
            break
    print(f"#{count} DONE (plain) in {time.monotonic() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
