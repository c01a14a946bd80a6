"""painterly: neural style transfer and the CNN lecture's experiments, fast on an ordinary CPU."""

import os

# OpenMP threads that spin while they wait make PyTorch 5-20x slower on a CPU that other programs
# also use (measured on 2 shared cores); passive waiting costs nothing measurable when the CPU is
# free. Takes effect only if painterly is imported before torch and the user has not chosen.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from painterly.errors import UserError
from painterly.io.images import load_image, save_image
from painterly.style.transfer import Progress, TransferOptions, TransferResult, transfer

__version__ = "0.1.0"
__all__ = ["Progress", "TransferOptions", "TransferResult", "UserError", "load_image",
           "save_image", "transfer"]
