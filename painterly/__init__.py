"""painterly: neural style transfer and the CNN lecture's experiments, fast on an ordinary CPU."""

from painterly.errors import UserError
from painterly.images import load_image, save_image
from painterly.transfer import Progress, TransferOptions, TransferResult, transfer

__version__ = "0.1.0"
__all__ = ["Progress", "TransferOptions", "TransferResult", "UserError", "load_image",
           "save_image", "transfer"]
