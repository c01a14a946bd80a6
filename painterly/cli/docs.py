"""docs/cli.md, generated from the command line's own parser (so it cannot drift from it):

    python -m painterly.cli.docs > docs/cli.md

tests/test_options.py fails when the file is stale.
"""

from __future__ import annotations

import argparse
import sys

from painterly.cli import build_parser

HEADER = """# Command line reference

Generated from the parser by `python -m painterly.cli.docs > docs/cli.md`; do not edit by hand.
Every option of a transfer, a reconstruction and digit training is declared once, with its
default, help and bounds, in the settings dataclasses (see docs/architecture.md); a value out
of bounds is one line on stderr and exit code 2.
"""


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _argument(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    metavar = "" if action.nargs == 0 else " " + str(
        action.metavar or action.dest.upper())
    return ", ".join(f"`{flag}{metavar}`" for flag in action.option_strings)


def _command(name: str, parser: argparse.ArgumentParser, help_text: str | None) -> list[str]:
    lines = [f"## `{name}`", ""]
    description = parser.description or help_text
    if description:
        lines += [description, ""]
    children = _subcommands(parser)
    rows = [action for action in parser._actions
            if not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction,
                                       argparse._VersionAction))]
    if rows:
        lines += ["| argument | meaning |", "|---|---|"]
        for action in rows:
            meaning = (action.help or "").replace("%%", "%")
            lines.append(f"| {_argument(action)} | {_cell(meaning)} |")
        lines.append("")
    for child, child_parser in children.items():
        lines += _command(f"{name} {child}", child_parser, _help_of(parser, child))
    return lines


def _help_of(parser: argparse.ArgumentParser, name: str) -> str | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                if choice.dest == name:
                    return choice.help
    return None


def cli_markdown(parser: argparse.ArgumentParser | None = None) -> str:
    """The reference of every command of ``parser`` (default: ``painterly``'s) as Markdown."""
    parser = parser or build_parser()
    lines = [HEADER]
    lines += [f"- `{parser.prog} {name}`: {_help_of(parser, name) or ''}"
              for name in _subcommands(parser)]
    lines.append("")
    for name, child in _subcommands(parser).items():
        lines += _command(f"{parser.prog} {name}", child, _help_of(parser, name))
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(cli_markdown())
