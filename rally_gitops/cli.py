"""Helpers shared by the command modules: common options, project loading, confirmation, output."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rally_gitops import config as config_mod
from rally_gitops.config import Config, env_flag
from rally_gitops.errors import ConfigError, RallyError
from rally_gitops.files.migrations import Migration, discover, file_limit

if TYPE_CHECKING:
    from rally_gitops.deploy.pipeline import Approve
    from rally_gitops.postgres.db import Target


def add_env(
    parser: argparse.ArgumentParser,
    *,
    required: bool = True,
    default: str | None = None,
    multiple: bool = False,
) -> None:
    """``--env E``: the environment to act on (``local``, ``staging``, ``production``...)."""
    kwargs: dict[str, Any] = {"metavar": "ENV", "help": "environment (local, staging, production)"}
    if multiple:
        parser.add_argument("--env", action="append", dest="env", **kwargs)
    else:
        parser.add_argument(
            "--env", required=required and default is None, default=default, **kwargs
        )


def add_yes(parser: argparse.ArgumentParser) -> None:
    """``--yes``: skip the typed confirmation (only in CI or without a terminal)."""
    parser.add_argument(
        "--yes",
        action="store_true",
        help="do not ask for the typed confirmation (CI=true or no terminal only)",
    )


# where ``compare`` and ``schema`` read a schema from
SOURCE_HELP = "local, staging, production, a postgresql:// URL, migrations or migrations@REF"


def add_selection(parser: argparse.ArgumentParser) -> None:
    """``--schema S`` and ``--exclude PATTERN``: which objects to look at."""
    parser.add_argument(
        "--schema",
        action="append",
        dest="schemas",
        metavar="S",
        help="only objects in schema S (repeatable)",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        metavar="PATTERN",
        help="leave out objects matching the glob, e.g. 'public.tmp_*' (repeatable)",
    )


def project_root(args: argparse.Namespace) -> Path | None:
    return Path(args.project) if getattr(args, "project", None) else None


def load_config(args: argparse.Namespace) -> Config:
    """The project's configuration (``-C DIR`` or the nearest project above the cwd)."""
    root = project_root(args)
    if root is not None and not root.is_dir():
        raise ConfigError(f"project directory {root} does not exist")
    if root is None and config_mod.find_project() is None:
        # rather than name a migrations directory under the cwd that was never meant
        raise ConfigError(
            f"no project found (pyproject.toml or .git) in {Path.cwd()} or above; use -C DIR"
        )
    return config_mod.load(root)


def load_migrations(config: Config) -> list[Migration]:
    """Every migration file of the project, parsed and validated."""
    return discover(config.migrations_dir, file_limit(config))


def confirm_deploy(config: Config, *, yes: bool) -> Approve:
    """The deploy pipeline's production confirmation: the migrations it will apply, each with
    the hazards lint finds in it, then type ``YES`` (``yes`` skips it in CI)."""

    def approve(target: Target, pending: list[Migration]) -> None:
        prompt = f"About to apply {len(pending)} migration(s) to {target.label}:"
        if not yes:
            prompt = "\n".join([prompt, *plan_with_hazards(config, pending)])
        confirm(prompt, "YES", yes=yes)

    return approve


def plan_with_hazards(config: Config, pending: list[Migration]) -> list[str]:
    """One line per pending migration (version, name), then one per lint finding in it."""
    from rally_gitops.lint.checker import Checker  # loads pglast: only once a prompt is shown

    findings = Checker(config).check([m.path for m in pending])
    by_file: dict[str, list[str]] = {}
    for finding in findings:
        by_file.setdefault(Path(finding.path).name, []).append(
            f"      line {finding.line}: {finding.severity} {finding.code}: {finding.message}"
        )
    lines = []
    for migration in pending:
        hazards = by_file.get(migration.filename, [])
        found = f"{len(hazards)} hazard(s) found by lint" if hazards else "no hazards found by lint"
        lines.append(f"  {migration.version}  {migration.slug}  ({found})")
        lines.extend(hazards)
    return lines


def confirm(prompt: str, word: str, *, yes: bool) -> None:
    """Ask the user to type ``word``; ``yes`` skips it, but only in CI or without a terminal.

    Raises ``RallyError`` (exit 1) when the answer is anything else or stdin is closed.
    """
    interactive = sys.stdin is not None and sys.stdin.isatty()
    if yes:
        if interactive and not env_flag("CI"):
            raise ConfigError(
                "--yes is only accepted in CI (CI=true) or without a terminal; "
                f"type {word} at the prompt instead"
            )
        return
    answer = _answer(f"{prompt}\nType {word} to continue: ")
    if answer is None:
        raise RallyError("no confirmation (stdin closed); nothing was done. In CI pass --yes.")
    if answer.strip() != word:
        raise RallyError("cancelled: the confirmation did not match; nothing was done")


def read_line(prompt: str) -> str:
    """One line from stdin after ``prompt`` on stderr; end of input is the empty answer."""
    answer = _answer(prompt)
    if answer is None:
        print("(no answer)", file=sys.stderr)
    return " ".join((answer or "").split())


def ask(question: str) -> bool:
    """A yes/no question on stderr, answered on stdin; no answer (end of input) is no."""
    answer = _answer(f"{question} [y/N] ")
    if answer is None:
        print("(no answer: no)", file=sys.stderr)
    return (answer or "").strip().lower() in {"y", "yes"}


def ask_word(prompt: str, word: str) -> bool:
    """True when the user types exactly ``word``; anything else or end of input is no."""
    answer = _answer(f"{prompt}\nType {word} to continue (anything else skips): ")
    if answer is None:
        print("(no answer: no)", file=sys.stderr)
    return (answer or "").strip() == word


def _answer(prompt: str) -> str | None:
    """The line typed after ``prompt`` (shown on stderr); None at the end of input."""
    print(prompt, end="", file=sys.stderr, flush=True)
    return (sys.stdin.readline() if sys.stdin is not None else "") or None


def out(line: str = "") -> None:
    """Print progress to stdout, flushed (deploy logs are read live in CI)."""
    print(line, flush=True)
