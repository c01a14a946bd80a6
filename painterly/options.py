"""Options declared once. A settings dataclass (``TransferOptions``, ``ReconstructionOptions``,
``TrainOptions``) declares each field with :func:`option`: its default, help, allowed values,
bounds, list rules and how the faces show it. From that one declaration come

* validation (:func:`validate`): finite numbers, bounds, whole numbers, choices, list lengths,
  raising :class:`OptionError`, which names the field (never a command-line flag);
* the command line's flags (:mod:`painterly.cli.options`), the web form and the web API's parsing
  (:mod:`painterly.web.options`), and docs/cli.md (generated from the parser).

A new field with :func:`option` appears everywhere with no other edit.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from painterly.errors import UserError

KINDS = ("bool", "int", "float", "text", "names", "numbers", "ints")
"""What a field (or one alternative of a union) holds: ``names`` is a tuple of strings,
``numbers`` of floats, ``ints`` of whole numbers."""


class OptionError(UserError):
    """A bad value of one option. ``field`` is the dataclass field; each face renders it in its
    own words (``--style-weight`` on the command line, the form field on the web page)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field} {message}")
        self.field, self.message = field, message


@dataclass(frozen=True)
class Spec:
    """How one option is checked and shown (the field's metadata)."""

    help: str
    choices: tuple[str, ...] = ()
    """Allowed text values (for ``names``: allowed items)."""
    free_text: str | None = None
    """Besides the choices, any text is accepted on the command line, described thus (e.g.
    ``PATH of an image``); the web page accepts only the choices."""
    low: float | None = None
    high: float | None = None
    """Inclusive bounds of a number (of each number of a list)."""
    below: float | None = None
    """Exclusive upper bound (the value must be smaller)."""
    positive: bool = False
    """A number that must be > 0 (with ``low`` unset)."""
    special: float | None = None
    """One value allowed outside the bounds, with a meaning of its own (``tile_size`` 0)."""
    min_items: int = 0
    """Fewest items of a list."""
    same_length_as: str | None = None
    """A list must have one value per item of this other list field."""
    flag: str | None = None
    """Command-line flag when not ``--field-name``."""
    aliases: tuple[str, ...] = ()
    metavar: str | None = None
    label: str | None = None
    """Web form label (default: the field name in words)."""
    main: bool = False
    """Shown outside the web page's "advanced" section."""
    web: bool = True
    """False: never set from the web (names files or hardware of the server)."""
    log: bool = False
    """A factor best varied on a log scale (the page's slider)."""
    control: str | None = None
    """The web page's control when not the generic one for the kind (e.g. ``slider``)."""


def option(default: Any, help: str, **spec: Any) -> Any:
    """A dataclass field with its :class:`Spec`: ``size: int = option(512, "long side ...",
    low=16, high=8192)``."""
    return dataclasses.field(default=default, metadata={"spec": Spec(help=help, **spec)})


@dataclass(frozen=True)
class Field:
    """A declared option: name, default, kinds (alternatives, in order), optional, spec."""

    name: str
    default: Any
    kinds: tuple[str, ...]
    optional: bool
    spec: Spec
    length: int | None = None
    """Exact number of items of a fixed-length tuple (``tuple[int, int]``: 2)."""

    @property
    def flag(self) -> str:
        return self.spec.flag or "--" + self.name.replace("_", "-")

    @property
    def label(self) -> str:
        return self.spec.label or self.name.replace("_", " ").capitalize()

    @property
    def kind(self) -> str:
        """The main kind (that of the default, else the first alternative)."""
        return _value_kind(self.default, self.kinds) or self.kinds[0]


def _kinds_of(annotation: Any) -> tuple[tuple[str, ...], bool, int | None]:
    """(kinds, optional, fixed length) of a type annotation."""
    alternatives = typing.get_args(annotation) if isinstance(
        annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union \
        else (annotation,)
    kinds, optional, length = [], False, None
    for alternative in alternatives:
        if alternative is type(None):
            optional = True
        elif alternative is bool:
            kinds.append("bool")
        elif alternative is int:
            kinds.append("int")
        elif alternative is float:
            kinds.append("float")
        elif alternative is str:
            kinds.append("text")
        elif typing.get_origin(alternative) is tuple:
            items = typing.get_args(alternative)
            item = items[0]
            if len(items) != 2 or items[1] is not Ellipsis:
                length = len(items)
            kinds.append({str: "names", float: "numbers", int: "ints"}[item])
        else:
            raise TypeError(f"option type {alternative!r} is not supported")
    return tuple(kinds), optional, length


@functools.cache
def fields_of(options_class: type) -> tuple[Field, ...]:
    """The declared options of a settings dataclass, in order."""
    hints = typing.get_type_hints(options_class)
    declared = []
    for item in dataclasses.fields(options_class):
        spec = item.metadata.get("spec")
        if spec is None:
            raise TypeError(f"{options_class.__name__}.{item.name} is not declared with option()")
        kinds, optional, length = _kinds_of(hints[item.name])
        declared.append(Field(item.name, item.default, kinds, optional, spec, length))
    return tuple(declared)


def field_named(options_class: type, name: str) -> Field:
    for item in fields_of(options_class):
        if item.name == name:
            return item
    raise KeyError(name)


def _value_kind(value: Any, kinds: Sequence[str]) -> str | None:
    """Which of ``kinds`` a Python value is, or None."""
    if isinstance(value, bool):
        return "bool" if "bool" in kinds else None
    if isinstance(value, int):
        return next((k for k in ("int", "float") if k in kinds), None)
    if isinstance(value, float):
        return "float" if "float" in kinds else None
    if isinstance(value, str):
        return "text" if "text" in kinds else None
    if isinstance(value, (tuple, list)):
        if all(isinstance(v, str) for v in value) and "names" in kinds:
            return "names"
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        if numeric and all(float(v).is_integer() for v in value) and "ints" in kinds:
            return "ints"
        if numeric and "numbers" in kinds:
            return "numbers"
    return None


def _describe_kinds(item: Field) -> str:
    words = {"bool": "true or false", "int": "a whole number", "float": "a number",
             "text": "text", "names": "a list of names", "numbers": "a list of numbers",
             "ints": "a list of whole numbers"}
    return " or ".join(words[k] for k in item.kinds)


def _bounds_text(spec: Spec) -> str:
    if spec.below is not None:
        text = f"at least {spec.low:g} and below {spec.below:g}"
    elif spec.positive and spec.high is not None:
        text = f"above 0 and at most {spec.high:g}"
    elif spec.low is not None and spec.high is not None:
        text = f"between {spec.low:g} and {spec.high:g}"
    elif spec.low is not None:
        text = f"at least {spec.low:g}"
    elif spec.high is not None:
        text = f"at most {spec.high:g}"
    else:
        text = "a number > 0"
    return text if spec.special is None else f"{spec.special:g} or {text}"


WHOLE_LIMIT = 2**63
"""Whole-number options stay within a signed 64-bit integer."""


def _check_number(item: Field, value: float, whole: bool) -> None:
    spec = item.spec
    if not math.isfinite(value):
        raise OptionError(item.name, f"must be a finite number, got {value}")
    if whole and value != int(value):
        raise OptionError(item.name, f"must be a whole number, got {value}")
    if whole and abs(value) >= WHOLE_LIMIT:  # beyond what torch and NumPy take as integers
        raise OptionError(item.name, f"must be a whole number below 2^63 in size, got {value:g}")
    if spec.special is not None and value == spec.special:
        return
    if ((spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high)
            or (spec.below is not None and value >= spec.below)
            or (spec.positive and value <= 0)):
        raise OptionError(item.name, f"must be {_bounds_text(spec)}, got {value:g}")


def check_value(item: Field, value: Any, options: Any = None) -> None:
    """Raise OptionError if ``value`` is not allowed for ``item`` (``options``: the whole
    settings object, for rules between fields)."""
    spec = item.spec
    if value is None:
        if not item.optional:
            raise OptionError(item.name, "needs a value")
        return
    kind = _value_kind(value, item.kinds)
    if kind is None:
        raise OptionError(item.name, f"must be {_describe_kinds(item)}, got {value!r}")
    if kind == "bool":
        return
    if kind in ("int", "float"):
        _check_number(item, value, whole=kind == "int")
    elif kind == "text":
        if spec.choices and value not in spec.choices and spec.free_text is None:
            raise OptionError(item.name, f"must be one of {', '.join(spec.choices)}, got "
                                         f"'{value}'")
    elif kind == "names":
        unknown = [v for v in value if spec.choices and v not in spec.choices]
        if unknown:
            raise OptionError(item.name, f"has unknown value(s) {', '.join(unknown)}: choose "
                                         f"from {', '.join(spec.choices)}")
    else:  # numbers, ints
        for number in value:
            _check_number(item, number, whole=kind == "ints")
    if kind in ("names", "numbers", "ints"):
        if len(value) < spec.min_items:
            raise OptionError(item.name, f"needs at least {spec.min_items} value(s)")
        if item.length is not None and len(value) != item.length:
            raise OptionError(item.name, f"needs exactly {item.length} values, got {len(value)}")
        if spec.same_length_as is not None and options is not None:
            other = getattr(options, spec.same_length_as)
            if len(value) != len(other):
                raise OptionError(item.name, f"has {len(value)} values for {len(other)} "
                                             f"{spec.same_length_as.replace('_', ' ')}")


def validate(options: Any) -> Any:
    """Check every field of a settings object against its declaration; returns it, with whole
    numbers given for number fields made floats (a 30-digit integer would overflow torch)."""
    for item in fields_of(type(options)):
        value = getattr(options, item.name)
        check_value(item, value, options)
        if "float" in item.kinds and isinstance(value, int) and not isinstance(value, bool):
            setattr(options, item.name, float(value))
    return options


def check_known(options_class: type, given: typing.Mapping[str, Any]) -> None:
    """TypeError for keywords that are not fields of ``options_class`` (a programming error)."""
    unknown = set(given) - {item.name for item in fields_of(options_class)}
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")


def bounds_text(spec: Spec) -> str:
    """The allowed range in a few characters: ``16..8192``, ``> 0``, ``>= 1``, ``0 or >= 64``;
    empty when unbounded."""
    if spec.low is not None and spec.high is not None:
        text = f"{spec.low:g}..{spec.high:g}"
    elif spec.low is not None and spec.below is not None:
        text = f">= {spec.low:g} and < {spec.below:g}"
    elif spec.low is not None:
        text = f">= {spec.low:g}"
    elif spec.positive:
        text = "> 0" if spec.high is None else f"> 0 and <= {spec.high:g}"
    else:
        return ""
    return text if spec.special is None else f"{spec.special:g} or {text}"


def describe_default(value: Any) -> str:
    """A default as a user writes it: 1e3 -> '1000', ('a', 'b') -> 'a,b', None -> 'off'."""
    if value is None:
        return "off"
    if isinstance(value, (tuple, list)):
        return ",".join(describe_default(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
