"""Long fuzzing runs of one loader (coverage-guided with atheris; ``pip install atheris``), from
the seeds of ``tests/fuzz_targets.py``. A crash stops the run and leaves its input in
``--artifacts`` (make it a regression test in tests/test_fuzz_regressions.py).

    PYTHONPATH=. nice -n 15 python benchmarks/fuzz.py --loader image --inputs 1000000
    PYTHONPATH=. python benchmarks/fuzz.py --list

Prints the number of inputs run (libFuzzer's ``#N DONE`` line, or ours on Ctrl-C/--seconds).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loader", help="which loader (see --list)")
    parser.add_argument("--inputs", type=int, default=1_000_000, help="inputs to run")
    parser.add_argument("--seconds", type=int, default=0, help="stop after this long (0: never)")
    parser.add_argument("--artifacts", type=Path, default=Path("benchmarks/out/fuzz"))
    parser.add_argument("--list", action="store_true", help="list the loaders")
    args = parser.parse_args()
    import atheris

    with atheris.instrument_imports(include=["painterly", "PIL", "tests"]):
        import painterly.web.app  # noqa: F401  (the targets import these lazily)
        from tests.fuzz_targets import TARGETS
    if args.list or args.loader not in TARGETS:
        print("loaders:", ", ".join(TARGETS))
        sys.exit(0 if args.list else 2)
    target = TARGETS[args.loader]
    warnings.simplefilter("ignore")
    args.artifacts.mkdir(parents=True, exist_ok=True)
    corpus = Path(tempfile.mkdtemp(prefix=f"fuzz-{args.loader}-"))
    for number, seed in enumerate(target.seeds()):
        (corpus / f"seed{number}").write_bytes(seed)
    options = [sys.argv[0], str(corpus), f"-runs={args.inputs}", "-timeout=20",
               "-rss_limit_mb=3072", "-max_len=65536", "-print_final_stats=1",
               f"-artifact_prefix={args.artifacts}/{args.loader}-"]
    if args.seconds:
        options.append(f"-max_total_time={args.seconds}")
    atheris.Setup(options, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
