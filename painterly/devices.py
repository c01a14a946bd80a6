"""Where the network runs and in which number format: the ``auto`` choices of ``--device`` and
``--precision``, and a clear error for a device this PyTorch build cannot use."""

from __future__ import annotations

import functools
from pathlib import Path

import torch

from painterly.errors import UserError
from painterly.losses import PRECISIONS

AUTO = "auto"
PRECISION_CHOICES = (AUTO, *PRECISIONS)
"""What ``--precision`` accepts: ``auto`` or one of the number formats the network runs in."""


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` where a CUDA GPU is usable, else ``mps`` (Apple silicon), else
    ``cpu``. Any other name (``cpu``, ``cuda``, ``cuda:1``, ``mps``) is returned as given once a
    tensor could be put there; a UserError names the device otherwise."""
    if device == AUTO:
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    try:
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"--device {device} cannot be used here ({reason}); "
                        "try --device auto or --device cpu") from None
    return device


def resolve_precision(precision: str, device: str) -> str:
    """``auto`` -> ``bfloat16`` on a CPU with native bfloat16 instructions (AVX512-BF16 or AMX,
    read from /proc/cpuinfo) or a CUDA GPU that supports it, else ``float32``."""
    if precision != AUTO:
        return precision
    if device.startswith("cuda"):
        return "bfloat16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() \
            else "float32"
    if device == "cpu":
        return "bfloat16" if _cpu_has_bfloat16() else "float32"
    return "float32"


@functools.cache
def _cpu_has_bfloat16() -> bool:
    """Whether /proc/cpuinfo lists native bfloat16 instructions (read once per process)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def free_device_bytes(device: str) -> int | None:
    """Free memory of an accelerator (CUDA) in bytes; None for the CPU and devices whose free
    memory PyTorch cannot report (their activations share the host's memory or are unknown)."""
    if device.startswith("cuda") and torch.cuda.is_available():
        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    return None
