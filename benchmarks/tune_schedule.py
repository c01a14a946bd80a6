"""Compare coarse-to-fine schedules by their scored loss and their work, independent of load.

Work is counted in evaluation equivalents (evaluations weighted by pixels relative to the
target size); wall time is printed too but depends on the machine's load.

    PYTHONPATH=. python benchmarks/tune_schedule.py --size 512 \\
        --schedule min_size=256,coarse_steps=100,steps=25 --schedule ...
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from speed import equivalents, parse, score

from painterly.io import images
from painterly.style.schedule import ladder
from painterly.style.transfer import TransferOptions, transfer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", default="tubingen")
    parser.add_argument("--style", default="starry_night")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--schedule", action="append", required=True)
    parser.add_argument("--output-dir", type=Path, default=Path("benchmarks/out/tune"))
    args = parser.parse_args()
    args.output_dir.mkdir(parents=True, exist_ok=True)
    content, style = images.load_image(args.content), images.load_image(args.style)
    for text in args.schedule:
        options = {"size": args.size, **parse(text)}
        opts = TransferOptions(**options)
        start = time.perf_counter()
        result = transfer(content, style, **options)
        seconds = time.perf_counter() - start
        path = args.output_dir / f"{Path(args.style).stem}_{text.replace(',', '_')}.png"
        images.save_image(result.tensor, path)
        sizes = dict(enumerate(w * h for w, h in ladder(*content.size, opts.size,
                                                          opts.min_size, opts.scale_ratio)))
        top = result.image.size[0] * result.image.size[1]
        terms = score(path, content, style, opts)
        print(json.dumps({"schedule": text, "loss": terms.total, "style": terms.style,
                          "content": terms.content, "evaluations": result.evaluations,
                          "equivalents": round(equivalents(result.history, sizes, top), 1),
                          "seconds": round(seconds, 1), "load": os.getloadavg()[0]}),
              flush=True)


if __name__ == "__main__":
    main()
