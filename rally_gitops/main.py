"""The ``rally-gitops`` command line: argparse subcommands, one module each in ``commands/``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from rally_gitops import __version__, tune_collector


class Parser(argparse.ArgumentParser):
    """argparse's parser, with the help width worked out as ``shutil.get_terminal_size`` does
    but without importing shutil: argparse imports it for every ``add_argument`` (it checks
    each option's help format), and shutil imports lzma and bz2, a tenth of start-up."""

    def _get_formatter(self) -> argparse.HelpFormatter:
        width = terminal_columns() - 2  # as argparse does
        return self.formatter_class(prog=self.prog, width=width)  # type: ignore[call-arg]


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``: ``COLUMNS``, else the terminal's, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


def command_modules() -> list[str]:
    """Every module in ``rally_gitops/commands`` (each defines ``add_parser(subparsers)``)."""
    import pkgutil

    from rally_gitops import commands

    return sorted(
        m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")
    )


def _is_command_module(name: str) -> bool:
    """True when ``commands/<name>.py`` exists (a stat instead of listing the package)."""
    import os

    from rally_gitops import commands

    return (
        name.isidentifier()
        and not name.startswith("_")
        and os.path.isfile(os.path.join(commands.__path__[0], f"{name}.py"))
    )


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole CLI, with every subcommand registered.

    With ``only`` (the command word of the command line), just the module of that name is imported
    when it registers that command: start-up then skips the other commands' imports. Anything else
    (``--help``, a typo, an alias) gets the whole parser, so behaviour and messages stay the same.
    """
    parser = _top_parser()
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    if only is not None and _is_command_module(only):
        importlib.import_module(f"rally_gitops.commands.{only}").add_parser(sub)
        return parser if only in sub.choices else build_parser()
    for name in command_modules():
        importlib.import_module(f"rally_gitops.commands.{name}").add_parser(sub)
    return parser


def _top_parser() -> argparse.ArgumentParser:
    """The options before the command word, without any subcommand."""
    parser = Parser(
        prog="rally-gitops",
        description="Take PostgreSQL schema changes safely from a laptop to staging and production",
    )
    parser.add_argument("--version", action="version", version=f"rally-gitops {__version__}")
    parser.add_argument(
        "-C",
        "--project",
        metavar="DIR",
        default=None,
        help="project directory (default: the nearest one with pyproject.toml or .git)",
    )
    return parser


def command_word(argv: Sequence[str]) -> str | None:
    """The subcommand named on a command line, told without parsing it (None when unsure)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("-C", "--project"):
            skip = True  # its value is a directory, not the command
        elif arg in ("-h", "--help", "--"):
            return None  # the top-level help lists every command
        elif not arg.startswith("-"):
            return arg
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``rally-gitops``; returns the exit code (0 ok, 1 failed, 2 usage, 3 crash)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv == ["--version"]:  # what argparse's version action prints, without argparse's work
        print(f"rally-gitops {__version__}")
        return 0
    word = command_word(argv)
    if word is None and "--version" in argv and not {"-h", "--help"} & set(argv):
        # ``--version`` needs no command: skip importing all of them (start-up 0.2 s -> 0.04 s)
        _top_parser().parse_args(argv)  # prints the version and exits, as before
    from rally_gitops.error_handler import run_guarded

    parser = build_parser(word)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return run_guarded(lambda: args.run(args))


def console() -> int:
    """The ``rally-gitops`` console script: ``main`` in a process that ends when it returns."""
    tune_collector()
    return main()


if __name__ == "__main__":
    raise SystemExit(console())
