"""``painterly serve``: a local web page and HTTP API for style transfer, built on
:func:`painterly.style.transfer.transfer` like the command line."""

from painterly.web.app import create_app

__all__ = ["create_app"]
