"""Command-line flags generated from the option declarations (:mod:`painterly.options`).

Any command adds every field of a settings dataclass with one call and reads back only what the
user gave::

    add_option_fields(parser, TransferOptions, exclude={"device"})
    ...
    given = options_from_args(args, TransferOptions)   # {"size": 256} for `--size 256`
    transfer(content, style, **given)

Flags the user did not give are absent from ``args`` (their default is the library's, shown in
``--help``), so presets and other layers of defaults need no tricks. :func:`flag_of` renders an
:class:`~painterly.options.OptionError` in the command line's words.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from typing import Any

from painterly.options import (
    Field,
    OptionError,
    bounds_text,
    convert,
    describe_default,
    fields_of,
)

FLAGS: dict[str, str] = {}
"""Field name -> flag, for every field a parser was given (to word errors as flags)."""


def float_list(text: str) -> tuple[float, ...]:
    """'0.7,0.3' -> (0.7, 0.3)."""
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got '{text}'") \
            from None


def name_list(text: str) -> tuple[str, ...]:
    """'relu1_1, relu2_1' -> ('relu1_1', 'relu2_1')."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _parser_for(item: Field) -> Callable[[str], Any]:
    """Text of the command line -> the field's value, by :func:`painterly.options.convert`
    (argparse words a mismatch as ``argument --size: must be a whole number, got 'x'``)."""

    def parse(text: str) -> Any:
        try:
            return convert(item, text)
        except OptionError as error:
            raise argparse.ArgumentTypeError(error.message) from None

    parse.__name__ = item.name
    return parse


def _help(item: Field) -> str:
    spec = item.spec
    text = spec.help
    if len(spec.choices) > 8:
        text += f" (from {spec.choices[0]}, {spec.choices[1]}, ..., {spec.choices[-1]})"
    elif spec.choices and "names" not in item.kinds:
        text += f" ({' | '.join(spec.choices)}"
        text += f" | {spec.free_text})" if spec.free_text else ")"
    elif spec.choices:
        text += f" (from {', '.join(spec.choices)})"
    bounds = bounds_text(spec)
    if bounds:
        text += f" [{bounds}]"
    if item.default is not None or item.optional:
        text += f" (default {describe_default(item.default)})"
    return text.replace("%", "%%")


def _metavar(item: Field) -> str:
    if item.spec.metavar:
        return item.spec.metavar
    if (item.spec.choices and item.kinds == ("text",) and not item.spec.free_text
            and len(item.spec.choices) <= 6):
        return "{" + ",".join(item.spec.choices) + "}"
    return item.name.upper()


def add_option_fields(parser: argparse.ArgumentParser, options_class: type, *,
                      exclude: Iterable[str] = (), title: str | None = None) -> list[str]:
    """Add a flag for every field of ``options_class`` (but ``exclude``) to ``parser``; returns
    the field names added. Values are converted to the field's type here; bounds and choices are
    checked by the library (one place), which raises OptionError naming the field."""
    excluded = set(exclude)
    group = parser.add_argument_group(title) if title else parser
    added = []
    for item in fields_of(options_class):
        if item.name in excluded:
            continue
        if item.kinds == ("bool",):
            group.add_argument(item.flag, *item.spec.aliases, dest=item.name,
                               action=argparse.BooleanOptionalAction,
                               default=argparse.SUPPRESS, help=_help(item))
        else:
            group.add_argument(item.flag, *item.spec.aliases, dest=item.name,
                               type=_parser_for(item), default=argparse.SUPPRESS,
                               metavar=_metavar(item), help=_help(item))
        FLAGS[item.name] = item.flag
        added.append(item.name)
    return added


def name_flag(field: str, flag: str) -> None:
    """Word errors about ``field`` (an argument of the library that no settings class declares,
    e.g. a batch's ``styles``) as about ``flag``."""
    FLAGS[field] = flag


def options_from_args(args: argparse.Namespace, options_class: type) -> dict[str, Any]:
    """The fields of ``options_class`` the user gave on the command line, as keywords."""
    return {item.name: getattr(args, item.name) for item in fields_of(options_class)
            if hasattr(args, item.name)}


def flag_of(error: OptionError) -> str:
    """``error`` in the command line's words: ``--style-weight must be at least 0, got -1``."""
    return f"{FLAGS.get(error.field, error.field)} {error.message}"
