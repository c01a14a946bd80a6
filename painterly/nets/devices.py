"""Where the network runs and in which number format: the ``auto`` choices of ``--device`` and
``--precision``, and a clear error for a device this PyTorch build cannot use."""

from __future__ import annotations

import ctypes
import functools
import os
import platform
from pathlib import Path

import torch

from painterly.options import OptionError

AUTO = "auto"
PRECISIONS = ("float32", "bfloat16")
"""Number formats the network can run in. ``bfloat16`` runs the network and the Gram products in
bfloat16 (sums accumulate in float32; the Gram matrices, the losses and the optimizer are
float32): 1.8x faster evaluations on CPUs with native bfloat16 (AVX512-BF16,
AMX), the same final loss in our measurements."""
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
        raise OptionError("device", f"{device} cannot be used here ({reason}); try auto or "
                                    "cpu") from None
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


GLIBC_TRIM_THRESHOLD = 2**31 - 1
"""Free memory at the top of malloc's heap that it keeps instead of returning it (~2 GiB)."""


@functools.cache
def keep_freed_host_memory() -> bool:
    """Let glibc's malloc keep and reuse the memory of freed tensors. By default it maps every
    large block freshly from the system and unmaps it when freed, so each evaluation faults its
    activations' pages in again (and the kernel zeroes them). Served from the heap instead,
    measured on 2 cores: 8 evaluations at 1024 px 15.3 -> 13.7 s (2.1 million page faults ->
    0.4 million), 3 at 2048 px 42.5 -> 29.4 s, the float32 classic recipe at 512 px -10%;
    peak memory 3-17% higher, and the process keeps what it freed for its next run. Applies
    once per process, on Linux with glibc, unless the user set glibc's
    own variables (``MALLOC_MMAP_MAX_``, ``MALLOC_TRIM_THRESHOLD_``); says whether it applied."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if any(name in os.environ for name in ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_")):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_max = -1, -4  # glibc's malloc.h
    return bool(mallopt(m_mmap_max, 0)) and bool(mallopt(m_trim_threshold, GLIBC_TRIM_THRESHOLD))
