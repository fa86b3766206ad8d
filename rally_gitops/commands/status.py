"""``rally-gitops status``: applied / pending / changed / missing migrations per environment."""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial
from typing import Any

from rally_gitops.cli import add_env, load_config, out
from rally_gitops.config import Config
from rally_gitops.deploy.status import LedgerRead, Status, read_ledger, status_lines, status_of
from rally_gitops.errors import MigrationFileError, RallyError
from rally_gitops.files.migrations import file_limit, scan
from rally_gitops.postgres.db import Target, beside, connect_reader, from_url, resolve


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("status", help="applied, pending, changed and missing migrations")
    add_env(parser, multiple=True)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=lambda a: status(load_config(a), envs=a.env, as_json=a.json))


def default_envs(config: Config) -> list[str]:
    """Environments worth showing: the embedded one and every one whose URL variable is set."""
    return [e.name for e in config.environments.values() if e.embedded or os.environ.get(e.url_env)]


def status(config: Config, *, envs: list[str] | None, as_json: bool) -> int:
    """Print the status of each environment; exit 1 if one could not be read.

    A bad migration file (not UTF-8, too big, a version used twice...) is listed first and
    every environment is still shown without it; the exit code is then 2, as for ``deploy``,
    which refuses to run until the file is fixed.
    """
    names = envs or default_envs(config)
    # each database given by its URL is logged into and read while the files are read
    early = {name: beside(partial(_read, config, name)) for name in names if from_url(config, name)}
    found = scan(config.migrations_dir, file_limit(config))
    migrations = found.migrations
    bad = [str(problem) for problem in found.problems]
    if not as_json:
        for problem in bad:
            out(f"bad file: {problem}")
    report: dict[str, Any] = {}
    failed = False
    for name in names:
        try:
            target, read = early[name]() if name in early else _read(config, name)
            result = status_of(migrations, read)
        except RallyError as exc:
            if envs and not bad:  # asked for by name: its failure is the command's failure
                raise
            failed = True
            report[name] = {"error": str(exc)}
            if not as_json:
                out(f"{name}: {exc}")
            continue
        # an applied version whose file is unreadable is not missing: it is listed above
        result.missing = [row for row in result.missing if row.version not in found.bad_versions]
        report[name] = {**as_dict(result, target.label), **({"bad_files": bad} if bad else {})}
        if not as_json:  # one write: a flush per line was a tenth of the command
            sys.stdout.write(
                "".join(
                    f"{line}\n" for line in status_lines(name, target.label, result, migrations)
                )
            )
            sys.stdout.flush()
    if as_json:
        import json

        out(json.dumps(report, indent=2))
    if bad:
        raise MigrationFileError(
            f"{len(bad)} bad migration file(s), listed above: deploy refuses to run until "
            "they are fixed"
        )
    return 1 if failed else 0


def _read(config: Config, name: str) -> tuple[Target, LedgerRead]:
    """The target of ``name`` and its ledger."""
    target = resolve(config, name)
    with connect_reader(target.url, purpose="status") as conn:
        return target, read_ledger(conn, config)


def as_dict(result: Status, where: str) -> dict[str, Any]:
    return {
        "database": where,
        "applied": [row.version for row in result.applied],
        "pending": [m.name for m in result.pending],
        "changed": [m.name for m, _ in result.changed],
        "missing": [row.name for row in result.missing],
        "out_of_order": [m.name for m in result.out_of_order],
        "blocked": result.blocked.name if result.blocked else None,
    }
