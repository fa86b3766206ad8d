"""``rally-gitops drift --env E``: changes made by hand next to what the ledger says ran."""

from __future__ import annotations

import argparse
import json

from rally_gitops.cli import add_env, load_config, out
from rally_gitops.config import Config
from rally_gitops.postgres.db import resolve
from rally_gitops.schema import report
from rally_gitops.schema.drift import Drift, detect


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "drift", help="compare an environment's schema with the migrations its ledger records"
    )
    add_env(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=lambda a: drift(load_config(a), env=a.env, as_json=a.json))


def drift(config: Config, *, env: str, as_json: bool = False) -> int:
    """Print the drift of ``env``; 0 when there is none, 1 when there is."""
    found = detect(config, resolve(config, env))
    if as_json:
        out(json.dumps(as_dict(found), indent=2))
    else:
        for text in describe(found):
            out(text)
    return 1 if found else 0


def describe(found: Drift) -> list[str]:
    """The drift report: one line per object, then the verdict."""
    where = found.target.label
    if not found:
        return [f"no drift: {where} matches its {found.applied} applied migration(s)"]
    lines = report.lines(found.result)
    return [*lines, f"drift on {where}: {report.summary(found.result)}"]


def as_dict(found: Drift) -> dict[str, object]:
    """``--json``: the environment, how many migrations were replayed, and the changes."""
    data = report.as_json(found.result, "migrations in the ledger", found.target.label)
    return {"environment": found.target.env.name, "applied": found.applied, **data}
