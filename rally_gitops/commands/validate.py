"""``rally-gitops validate [FILES...]``: replay migrations on a throwaway PostgreSQL (layer 4).

The FILES (or, without any, the migrations new or changed against the base; outside a git
repository, all of them) are the new ones: every older migration comes from a cached template
database, then the new files are applied through the deploy engine and each one's rollback
section is tried (round trip). See docs/validate.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import sys
from pathlib import Path

from rally_gitops import git
from rally_gitops.cli import load_config, load_migrations
from rally_gitops.config import Config
from rally_gitops.errors import ConfigError
from rally_gitops.files.migrations import Migration
from rally_gitops.lint import output
from rally_gitops.lint.history import shown
from rally_gitops.lint.model import Finding, Severity
from rally_gitops.lint.settings import CodeInfo
from rally_gitops.replay import measured
from rally_gitops.replay.observe import MigrationMeasure
from rally_gitops.replay.run import replay
from rally_gitops.replay.settings import assume_rows
from rally_gitops.replay.steps import FAILED, ROUND_TRIP

FORMATS = ("text", "github", "json", "sarif")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "validate",
        help="replay migrations on a throwaway PostgreSQL and report the first failure",
        description=(
            "Replay migrations on a throwaway PostgreSQL through the deploy engine. FILES (or, "
            "without any, the migrations new or changed against the base; outside git, all) are "
            "the new ones: older migrations come from a cached template database, then each new "
            "file is applied and its rollback section tried (round trip). See docs/validate.md."
        ),
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="the new migration files")
    parser.add_argument("--base", metavar="REF", help="base ref without FILES (origin/main)")
    parser.add_argument(
        "--all", action="store_true", help="treat every migration as new (no cache, round trips)"
    )
    parser.add_argument(
        "--no-round-trip", action="store_true", help="skip the rollback-then-reapply check"
    )
    parser.add_argument(
        "--no-measure",
        action="store_true",
        help="do not measure locks, rewrites and scans of the new files (measured-* findings)",
    )
    parser.add_argument(
        "--markdown",
        metavar="FILE",
        type=Path,
        help="also write what was measured as a Markdown table to FILE (the PR comment)",
    )
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format")
    parser.set_defaults(
        run=lambda a: validate(
            load_config(a),
            files=[Path(f) for f in a.files],
            base=a.base,
            all_files=a.all,
            round_trip=not a.no_round_trip,
            measure=not a.no_measure,
            markdown=a.markdown,
            fmt=a.format,
        )
    )


def validate(
    config: Config,
    *,
    files: list[Path] | None = None,
    base: str | None = None,
    all_files: bool = False,
    round_trip: bool = True,
    measure: bool = True,
    markdown: Path | None = None,
    fmt: str = "text",
) -> int:
    """Replay; print findings; exit 0 (warnings allowed), 1 on a failure, 2 on a usage error."""
    severity = round_trip_severity(config)  # a bad setting fails before the replay starts
    assume = assume_rows(config)
    migrations = load_migrations(config)
    if not migrations:
        print(f"no migrations in {config.migrations_dir}: nothing to replay", file=sys.stderr)
        return 0
    new = select_new(config, migrations, files or [], base=base, all_files=all_files)
    result = replay(config, migrations, new, with_round_trip=round_trip, measure=measure)
    findings = [
        dataclasses.replace(f, severity=severity) if f.code == ROUND_TRIP else f
        for f in result.findings
    ]
    findings += _measured(config, new, result.measures, assume)
    if markdown is not None:
        from rally_gitops.delivery.measures import markdown as render_markdown

        markdown.write_text(render_markdown(result.measures, assume_rows=assume), "utf-8")
    code = print_findings(findings, fmt, files=len(new))
    if fmt == "text":
        cache = "cache hit" if result.cache_hit else "cache built"
        if result.extended_from:
            cache = f"cache extended from the template of {result.extended_from}"
        if result.from_spare:
            cache += ", its ready copy"
        source = (
            f"{result.cached} from the template ({cache})" if result.template else "no template"
        )
        print(
            f"replay on {result.server}: {source}, {result.applied} applied, "
            f"{result.round_trips} round trip(s), "
            f"{result.seconds:.2f}s" + ("" if code else ", ok"),
            file=sys.stderr,
        )
    return code


def _measured(
    config: Config, new: list[Migration], measures: list[MigrationMeasure], assume: bool
) -> list[Finding]:
    """The measured findings of the new files, beside their lint findings, through the lint
    configuration (``disable``, ``severity``) and the files' ``rally:ignore`` directives.

    Only the files in which a statement touched an existing relation are linted (the linter
    loads pglast: not for the usual new CREATE TABLE file, which has nothing measured)."""
    touched = {m.filename for m in measures if any(s.effects for s in m.statements)}
    files = [m for m in new if m.filename in touched]
    if not files:
        return []
    from rally_gitops.lint import ignores
    from rally_gitops.lint.checker import Checker

    checker = Checker(config)
    static = [f for m in files for f in checker.check_file(m.path, shown(m.path))]
    found = measured.findings(files, measures, static, assume_rows=assume)
    directives = {shown(m.path): ignores.parse_directives(m) for m in files}
    severity = checker.settings.severity_of
    return [  # a note (an empty table) stays one whatever the code's configured severity
        f if f.severity == "note" else dataclasses.replace(f, severity=severity(f.code, f.severity))
        for f in found
        if f.code in checker.active and not any(d.covers(f) for d in directives[f.path])
    ]


def round_trip_severity(config: Config) -> Severity:
    """``[tool.rally_gitops.replay] round_trip``: a failed round trip is an ``error`` (the
    default: pre-commit hides the warnings of a passing hook) or a ``warn``-ing."""
    value = config.section("replay").get("round_trip", "error")
    if value not in ("error", "warn"):
        raise ConfigError(
            f'[tool.rally_gitops.replay] round_trip = {value!r}: expected "error" or "warn"'
        )
    return "error" if value == "error" else "warning"


def select_new(
    config: Config,
    migrations: list[Migration],
    files: list[Path],
    *,
    base: str | None = None,
    all_files: bool = False,
) -> list[Migration]:
    """The migrations under test: FILES, else new/changed against the base, else all."""
    if all_files:
        return list(migrations)
    # paths compared as strings, each directory resolved once: pathlib costs 0.1 ms a file
    by_path = {_key(m.path): m for m in migrations}
    if files:
        chosen = []
        for file in files:
            path = _key(file)
            if not os.path.exists(path) and not file.is_absolute():
                path = _key(config.root / file)  # relative to -C DIR, like git -C
            if path not in by_path:
                if not os.path.isfile(path):
                    raise ConfigError(f"{file}: no such file")
                raise ConfigError(
                    f"{file}: not a migration in {config.migrations_dir} (only *.sql files "
                    "directly in the migrations directory are replayed)"
                )
            chosen.append(by_path[path])
        return chosen
    if not git.is_repository(config.root):
        return list(migrations)
    changed = {_key(p) for p in git.changed_migrations(config, base)}
    return [m for m in migrations if _key(m.path) in changed]


@functools.lru_cache(maxsize=64)
def _directory(path: str) -> str:
    return os.path.realpath(path)


def _key(path: Path) -> str:
    """``path`` with its directory resolved (symlinks, ``..``): one realpath per directory."""
    # joined, not abspath: ".." after a symlink is for realpath to resolve, not to drop
    head, name = os.path.split(os.path.join(os.getcwd(), path))
    return os.path.join(_directory(head), name)


def print_findings(findings: list[Finding], fmt: str = "text", files: int = 0) -> int:
    """Print findings in the linter's formats (``rally_gitops.lint.output``): text, GitHub
    annotations, JSON or SARIF. Returns 1 when one is an error, else 0."""
    findings = sorted(findings, key=Finding.sort_key)
    catalog = _catalog() if fmt == "sarif" else None
    summary = output.summarise(findings, files)
    sys.stdout.write(output.render(fmt, findings, summary, catalog))
    sys.stdout.flush()
    return 1 if summary.errors else 0


def _catalog() -> dict[str, CodeInfo]:
    """The codes replay and history report, for SARIF's rule list."""
    from rally_gitops.lint.checker import HISTORY_CODES  # loads pglast: only for SARIF

    replay = (
        CodeInfo(FAILED, "error", True, "a migration fails when replayed in order", "replay"),
        CodeInfo(ROUND_TRIP, "error", True, "rollback, then re-apply, fails", "replay"),
        *(CodeInfo(c, s, True, text, "replay") for c, (s, text) in measured.CODES.items()),
    )
    return {**HISTORY_CODES, **{info.code: info for info in replay}}
