"""Achieved GFLOP/s of one style-transfer evaluation against the machine's matrix multiply.

One evaluation = VGG-19 forward to relu5_1 + gradient with respect to the input image (the
weights are frozen, so no weight gradients are computed). Counted work: the convolutions only,
2 * C_in * C_out * 9 * H_out * W_out multiply-adds per convolution, once forward and once for the
input gradient. The matrix multiply reference is a float32 N x N matmul timed in the same run.

    PYTHONPATH=. python benchmarks/gflops.py --size 512 [--channels-last] [--profile]
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from painterly.nets.devices import PRECISIONS
from painterly.nets.vgg import BLOCK_DEPTHS, CHANNELS, DEFAULT_STYLE_LAYERS, load_vgg19
from painterly.style.losses import PerceptualLoss


def conv_flops(width: int, height: int, deepest_block: int = 5, deepest_conv: int = 1) -> float:
    """FLOPs of the convolutions of VGG-19 up to conv{block}_{index}, forward only."""
    flops, previous, w, h = 0.0, 3, width, height
    for block, depth in enumerate(BLOCK_DEPTHS, start=1):
        for index in range(1, depth + 1):
            flops += 2 * previous * CHANNELS[block - 1] * 9 * w * h
            previous = CHANNELS[block - 1]
            if (block, index) == (deepest_block, deepest_conv):
                return flops
        w, h = w // 2, h // 2
    return flops


def _best_seconds(work, repeats: int) -> float:
    work()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def matmul_gflops(n: int = 2048, repeats: int = 5,
                  dtype: torch.dtype = torch.float32) -> dict[str, float]:
    """GFLOP/s of an n x n x n matrix multiply in ``dtype``, two ways: ``torch.mm`` (MKL's sgemm
    for float32) and the same product as a 1x1 convolution (oneDNN, the library the VGG
    convolutions run on; MKL's sgemm is much slower than oneDNN on some CPUs, e.g. AMD EPYC)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    image = torch.randn(1, n, n // 32, 32, dtype=dtype)
    kernel = torch.randn(n, n, 1, 1, dtype=dtype)
    flops = 2 * n**3
    return {"torch.mm": flops / _best_seconds(lambda: a @ b, repeats) / 1e9,
            "1x1 convolution (oneDNN)": flops / _best_seconds(
                lambda: torch.nn.functional.conv2d(image, kernel), repeats) / 1e9}


def evaluation_seconds(width: int, height: int, repeats: int, channels_last: bool,
                       precision: str = "float32") -> float:
    vgg = load_vgg19()
    if channels_last:
        vgg = vgg.to(memory_format=torch.channels_last)
    loss = PerceptualLoss(vgg, content_layer="relu4_2", style_layers=DEFAULT_STYLE_LAYERS,
                          style_weight=1e3, precision=precision)
    generator = torch.Generator().manual_seed(0)
    content = torch.rand(1, 3, height, width, generator=generator)
    style = torch.rand(1, 3, height, width, generator=generator)
    loss.set_content(content)
    loss.set_style([style])
    image = content.clone()
    if channels_last:
        image = image.contiguous(memory_format=torch.channels_last)

    def once() -> None:
        x = image.detach().requires_grad_(True)
        value, _ = loss(x)
        torch.autograd.grad(value, x)

    return _best_seconds(once, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="long side (4:3 image)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--channels-last", action="store_true",
                        help="also the weights in channels-last (the network's inputs are "
                             "channels-last on the CPU anyway)")
    parser.add_argument("--precision", choices=PRECISIONS, default="float32",
                        help="number format of the network; the matmuls are timed in float32 "
                             "and in this format, and the evaluation is compared with this one")
    parser.add_argument("--profile", action="store_true", help="print a torch.profiler table")
    args = parser.parse_args()
    width, height = args.size, args.size * 3 // 4
    dtype = getattr(torch, args.precision)
    references = {(torch.float32, name): value for name, value in matmul_gflops().items()}
    if dtype != torch.float32:
        references |= {(dtype, name): value
                       for name, value in matmul_gflops(dtype=dtype).items()}
    seconds = evaluation_seconds(width, height, args.repeats, args.channels_last,
                                 args.precision)
    flops = 2 * conv_flops(width, height)
    achieved = flops / seconds / 1e9
    print(f"threads {torch.get_num_threads()}, image {width}x{height}, "
          f"channels_last {args.channels_last}, {args.precision}, "
          f"load average {os.getloadavg()[0]:.2f}")
    for (kind, name), value in references.items():
        print(f"matmul 2048^3 {str(kind).removeprefix('torch.')}, {name}: {value:.1f} GFLOP/s")
    best = max(value for (kind, _), value in references.items() if kind == dtype)
    print(f"one evaluation: {seconds:.3f} s, {flops / 1e9:.1f} GFLOP (conv forward + input "
          f"gradient) -> {achieved:.1f} GFLOP/s = {achieved / best:.0%} of the faster "
          f"{args.precision} matmul")
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        vgg = load_vgg19()
        loss = PerceptualLoss(vgg, content_layer="relu4_2", style_layers=DEFAULT_STYLE_LAYERS,
                              precision=args.precision)
        x0 = torch.rand(1, 3, height, width)
        loss.set_content(x0)
        loss.set_style([torch.rand(1, 3, height, width)])

        def once() -> None:
            x = x0.clone().requires_grad_(True)
            value, _ = loss(x)
            torch.autograd.grad(value, x)

        once()  # warm up: oneDNN picks and caches its kernels on the first call
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(args.repeats):
                once()
        print(f"profile of {args.repeats} evaluations, {args.precision}:")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20))


if __name__ == "__main__":
    main()
