"""painterly: neural style transfer and the CNN lecture's experiments, fast on an ordinary CPU."""

import os

# OpenMP threads that spin while they wait make PyTorch 5-20x slower on a CPU that other programs
# also use (measured on 2 shared cores); passive waiting costs nothing measurable when the CPU is
# free. Takes effect only if painterly is imported before torch and the user has not chosen.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import importlib

from painterly.errors import UserError

__version__ = "0.1.0"
__all__ = ["Evaluated", "Event", "OptionError", "PartStarted", "Progress", "RungFinished",
           "Snapshot", "TransferOptions", "TransferResult", "UserError", "load_image",
           "save_image", "transfer", "video"]
_LAZY = {"load_image": "painterly.io.images", "save_image": "painterly.io.images",
         "OptionError": "painterly.options", "Evaluated": "painterly.style.events",
         "Event": "painterly.style.events", "PartStarted": "painterly.style.events",
         "RungFinished": "painterly.style.events", "Snapshot": "painterly.style.events",
         "TransferOptions": "painterly.style.options",
         "TransferResult": "painterly.style.transfer", "transfer": "painterly.style.transfer"}
"""The public API, imported on first use: ``import painterly`` (and the command line's start)
stays cheap until torch is needed, so Ctrl-C while it loads is handled by the command line."""


def __getattr__(name: str):
    if name == "video":  # a package you can call: painterly.video(input, style, output)
        return importlib.import_module("painterly.video")
    if name == "Progress":  # the evaluation event under its earlier name
        name_in_module, module = "Evaluated", "painterly.style.events"
    elif name in _LAZY:
        name_in_module, module = name, _LAZY[name]
    else:
        raise AttributeError(f"module 'painterly' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name_in_module)
    globals()[name] = value
    return value
