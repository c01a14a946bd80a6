"""Built-in example images, addressable by name (``tubingen``, ``starry_night``, ...)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

CONTENT_EXAMPLES = ("tubingen",)
STYLE_EXAMPLES = (
    "starry_night",
    "the_scream",
    "shipwreck_of_the_minotaur",
    "composition_vii",
    "great_wave",
)


def example_names() -> tuple[str, ...]:
    """All built-in example names, content photos first."""
    return CONTENT_EXAMPLES + STYLE_EXAMPLES


def example_path(name: str) -> Path:
    """The file of a built-in example image (``KeyError`` if there is none of that name)."""
    if name not in example_names():
        raise KeyError(name)
    return Path(str(resources.files(__package__) / f"{name}.jpg"))
