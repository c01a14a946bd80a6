"""Peak memory (max RSS) of large transfers, against painterly's own estimate.

Each size runs in a fresh process: ``painterly transfer tubingen starry_night --size N`` with a
single scale and very few evaluations (memory, not quality, is measured here; on 2 CPU cores a
4096 px evaluation takes minutes).

    PYTHONPATH=. python benchmarks/memory.py --sizes 1024,2048,4096 --steps 2
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from painterly.io import images
from painterly.style import memory
from painterly.style.transfer import TransferOptions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1024,2048,4096")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--output-dir", type=Path, default=Path("benchmarks/out"))
    parser.add_argument("extra", nargs="*", help="more options for painterly transfer")
    args = parser.parse_args()
    args.output_dir.mkdir(parents=True, exist_ok=True)
    content = images.load_image("tubingen")
    defaults = TransferOptions()
    for size in (int(s) for s in args.sizes.split(",")):
        width, height = images.fit_long_side(*content.size, size)
        plan = memory.plan(width, height, method=defaults.optimizer, history=defaults.history,
                           style_pixels=width * height)
        output = args.output_dir / f"memory_{size}.png"
        command = [sys.executable, "-m", "painterly", "transfer", "tubingen", "starry_night",
                   "--size", str(size), "--min-size", str(size), "--steps", str(args.steps),
                   "--quiet", "-o", str(output), *args.extra]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KB, largest child so far
        note = "" if peak > before else " (peak not above an earlier size's)"
        print(f"{width}x{height}: exit {done.returncode}, {seconds:.0f} s, peak RSS "
              f"{peak / 2**20:.2f} GB{note}; estimate {plan.estimate / 2**30:.2f} GB, tile "
              f"{plan.tile}, history {plan.history}; load {os.getloadavg()[0]:.1f}; "
              f"{(done.stdout + done.stderr).strip().splitlines()[-1:]}", flush=True)


if __name__ == "__main__":
    main()
