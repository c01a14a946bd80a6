"""painterly: neural style transfer and the CNN lecture's experiments, fast on an ordinary CPU."""

import os

# OpenMP threads that spin while they wait make PyTorch 5-20x slower on a CPU that other programs
# also use (measured on 2 shared cores); passive waiting costs nothing measurable when the CPU is
# free. Takes effect only if painterly is imported before torch and the user has not chosen.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import importlib

from painterly.errors import UserError

__version__ = "0.1.0"
__all__ = ["Progress", "TransferOptions", "TransferResult", "UserError", "load_image",
           "save_image", "transfer"]
_LAZY = {"load_image": "painterly.io.images", "save_image": "painterly.io.images",
         "Progress": "painterly.style.transfer", "TransferOptions": "painterly.style.transfer",
         "TransferResult": "painterly.style.transfer", "transfer": "painterly.style.transfer"}
"""The public API, imported on first use: ``import painterly`` (and the command line's start)
stays cheap until torch is needed, so Ctrl-C while it loads is handled by the command line."""


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'painterly' has no attribute '{name}'")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
