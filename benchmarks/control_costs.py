"""Cost of the artistic controls: seconds per evaluation of the style-transfer objective with
each control, relative to the plain Gram loss, measured in the same run (interleaved repeats).

    PYTHONPATH=. python benchmarks/control_costs.py [--size 128] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from painterly.io import images
from painterly.nets.vgg import DEFAULT_STYLE_LAYERS, load_vgg19
from painterly.style.losses import PerceptualLoss


def objective(vgg, style_loss: str, regions: int, size: int):
    content = images.to_tensor(images.resize_long_side(images.load_image("tubingen"), size))
    style = images.to_tensor(images.resize_long_side(images.load_image("starry_night"), size))
    loss = PerceptualLoss(vgg, content_layer="relu4_2", style_layers=DEFAULT_STYLE_LAYERS,
                          style_weight=1e3, style_loss=style_loss)
    loss.set_content(content)
    if regions:
        guides = torch.zeros(regions, 1, *content.shape[-2:])
        for k in range(regions):
            guides[k, ..., k * content.shape[-1] // regions:] = 1
            if k + 1 < regions:
                guides[k, ..., (k + 1) * content.shape[-1] // regions:] = 0
        loss.set_regions([style] * regions, guides)
    else:
        loss.set_style([style])
    return loss, content


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    vgg = load_vgg19()
    cases = {"gram": ("gram", 0), "meanstd": ("meanstd", 0), "gram, 2 regions": ("gram", 2),
             "gram, 3 regions": ("gram", 3)}
    built = {name: objective(vgg, kind, regions, args.size)
             for name, (kind, regions) in cases.items()}
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeats):
        for name, (loss, content) in built.items():
            image = content.clone().requires_grad_(True)
            start = time.perf_counter()
            total, _ = loss(image)
            total.backward()
            times[name].append(time.perf_counter() - start)
    base = min(times["gram"])
    print(f"size {args.size} px, best of {args.repeats}, load average "
          f"{os.getloadavg()[0]:.2f}, {torch.get_num_threads()} threads")
    for name, values in times.items():
        print(f"{name:18} {min(values):.3f} s per evaluation  x{min(values) / base:.2f}")


if __name__ == "__main__":
    main()
