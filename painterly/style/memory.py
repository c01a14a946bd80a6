"""Memory planning: estimate the peak memory of a transfer before starting, choose tiled
evaluation and a smaller L-BFGS history where the whole image would not fit, and refuse (with a
suggestion) a size that cannot fit at all, instead of being killed by the system half-way.

The per-pixel figures were measured with ``ru_maxrss`` (float32, CPU, VGG-19 to relu5_1):
one forward+backward keeps about 2.2 KB of activations per pixel; a forward without autograd
(the targets) peaks at about 1 KB per pixel.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from painterly.options import OptionError
from painterly.style.tiling import DEFAULT_HALO

EVALUATION_BYTES_PER_PIXEL = 2400
"""Activations kept for the backward pass of one evaluation (measured 2.1-2.2 KB, plus margin)."""

FORWARD_BYTES_PER_PIXEL = 1100
"""Peak of a forward pass without autograd (targets)."""

BASE_BYTES = 700 * 2**20
"""Python, PyTorch and the network's weights."""

IMAGE_BYTES_PER_PIXEL = 3 * 4 * 20
"""Copies of the image at the top scale (current, best, gradient, inputs, snapshots); raised
after a 4096 px run peaked 3% above the estimate (when L-BFGS-B also kept float64 copies)."""

CONTENT_TARGET_BYTES_PER_PIXEL = 512 * 4 // 64
"""relu4_2 features of the whole image (kept when tiling)."""

MIN_TILE = 128
DEFAULT_TILE = 512
"""Core size of a tile (pixels); the halo adds :data:`HALO` px on each side."""

HALO = DEFAULT_HALO
"""Context around a tile for the default layers (80 px for relu5_1: see painterly.tiling)."""


def _meminfo(key: str) -> int | None:
    try:
        with open("/proc/meminfo") as stream:
            for line in stream:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def available_bytes() -> int:
    """Memory the system can give this process now (MemAvailable), or a large value if unknown."""
    value = _meminfo("MemAvailable")
    if value is not None:
        return value
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 50


def default_limit() -> int:
    """What a run may use unless told otherwise: 80% of the available memory, at most 45% of
    the machine's RAM (so a large run leaves room for everything else: 2048 px on 24 GB stays
    near 10 GB)."""
    total = _meminfo("MemTotal")
    return int(min(0.8 * available_bytes(), 0.45 * total if total else float("inf")))


def optimizer_bytes(pixels: int, method: str, history: int) -> int:
    """State of the optimizer for an image of ``pixels`` pixels."""
    n = 3 * pixels
    if method == "lbfgs":  # optim.lbfgsb, float32: 2(m + 1) history rows, x, g, trial, ...
        return (2 * (history + 1) + 8) * n * 4
    if method == "lbfgs-unbounded":  # torch float32: 2m vectors + a few
        return (2 * history + 6) * n * 4
    return 4 * n * 4  # Adam: moments, parameter, gradient


def evaluation_bytes(width: int, height: int, tile: int | None) -> int:
    """Peak of one evaluation (or of computing the targets), whole image or tiled."""
    pixels = width * height
    if tile is None:
        return EVALUATION_BYTES_PER_PIXEL * pixels
    window = (min(width, tile + 2 * HALO)) * (min(height, tile + 2 * HALO))
    return EVALUATION_BYTES_PER_PIXEL * window + CONTENT_TARGET_BYTES_PER_PIXEL * pixels


@dataclass(frozen=True)
class MemoryPlan:
    """How to run the top scale: ``tile`` core size (None: whole image) and L-BFGS ``history``."""

    tile: int | None
    history: int
    estimate: int
    """Predicted peak bytes."""
    limit: int


def activation_bytes(width: int, height: int, tile: int | None, style_pixels: int = 0) -> int:
    """Peak of the network's work (evaluations, targets): what lives on the device."""
    return evaluation_bytes(width, height, tile) + (
        0 if tile else FORWARD_BYTES_PER_PIXEL * max(0, style_pixels - width * height))


def resident_bytes(width: int, height: int) -> int:
    """Python, the weights and the image copies: what stays on the host whatever runs where."""
    return BASE_BYTES + IMAGE_BYTES_PER_PIXEL * width * height


def host_bytes(width: int, height: int, method: str, history: int) -> int:
    """Everything but the network's work: Python, weights, image copies, optimizer state."""
    return resident_bytes(width, height) + optimizer_bytes(width * height, method, history)


def device_bytes(width: int, height: int, method: str, history: int, tile: int | None,
                 style_pixels: int = 0) -> int:
    """What a GPU holds: the network's work and the optimizer's state (every optimizer runs
    on the pixels' device)."""
    return activation_bytes(width, height, tile, style_pixels) + optimizer_bytes(
        width * height, method, history)


def peak_bytes(width: int, height: int, method: str, history: int, tile: int | None,
               style_pixels: int = 0) -> int:
    """Peak of a run on the CPU, where the network's work shares the host's memory."""
    return host_bytes(width, height, method, history) + activation_bytes(width, height, tile,
                                                                          style_pixels)


def plan(width: int, height: int, *, method: str, history: int, tile: int | None = None,
         limit: int | None = None, style_pixels: int = 0,
         device_limit: int | None = None) -> MemoryPlan:
    """Choose tiling and history for the top scale so the estimate fits ``limit`` bytes
    (default: :func:`default_limit`). ``tile`` 0 forces no tiling, a number forces that
    tile size. ``device_limit``: free bytes of a GPU that runs the network (its activations and
    the optimizer's state go there, the image copies stay in ``limit``); None: all in
    ``limit``. Raises UserError when nothing fits; a ``limit`` given is the caller's
    ``max_memory``, which the refusal then names."""
    given = limit is not None
    limit = default_limit() if limit is None else limit
    tiles = [None] if tile == 0 else [tile] if tile else [None, DEFAULT_TILE, 256, MIN_TILE]
    histories = sorted({history, *(min(history, h) for h in (50, 20, 10, 5, 3))},
                       reverse=True) if method != "adam" else [history]

    def fits(w: int, h: int, candidate_history: int, candidate_tile: int | None,
             pixels_of_style: int) -> bool:
        if device_limit is None:
            return peak_bytes(w, h, method, candidate_history, candidate_tile,
                              pixels_of_style) <= limit
        return (resident_bytes(w, h) <= limit and
                device_bytes(w, h, method, candidate_history, candidate_tile,
                             pixels_of_style) <= device_limit)

    for candidate_tile in tiles:
        for candidate_history in histories:
            if fits(width, height, candidate_history, candidate_tile, style_pixels):
                estimate = peak_bytes(width, height, method, candidate_history, candidate_tile,
                                      style_pixels)
                return MemoryPlan(candidate_tile, candidate_history, estimate, limit)
    side = max(width, height)
    fitting = 16
    for candidate in range(side // 16 * 16, 15, -16):  # the largest size that would fit
        scale = (candidate / side) ** 2
        if fits(round(width * candidate / side), round(height * candidate / side),
                histories[-1], tiles[-1], int(style_pixels * scale)):
            fitting = candidate
            break
    work = None if device_limit is None else device_bytes(
        width, height, method, histories[-1], tiles[-1], style_pixels)
    if work is not None and work > device_limit:
        need = (f"about {work / 2**30:.1f} GB of GPU memory but only "
                f"{device_limit / 2**30:.1f} GB are free")
    else:
        smallest = resident_bytes(width, height) if work is not None else peak_bytes(
            width, height, method, histories[-1], tiles[-1], style_pixels)
        need = (f"about {smallest / 2**30:.1f} GB of memory but only "
                f"{limit / 2**30:.1f} GB can be used")
    raise OptionError(
        "size", f"is too large here: a {width}x{height} result needs {need}; try {fitting}"
        + (" or the adam optimizer" if method != "adam" else "")
        + (" (or a larger max_memory)" if given and (work is None or work <= device_limit)
           else " (or free some memory / raise the memory limit)"))


__all__ = ["MemoryPlan", "activation_bytes", "available_bytes", "default_limit", "device_bytes",
           "evaluation_bytes", "host_bytes", "optimizer_bytes", "peak_bytes", "plan",
           "resident_bytes"]
