"""``rally-gitops smoke --env E``: is the deployed environment what the repository says it is?"""

from __future__ import annotations

import argparse
import json

from rally_gitops.cli import add_env, load_config, out
from rally_gitops.config import Config
from rally_gitops.delivery import smoke as smoke_mod


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "smoke", help="smoke-test an environment: ledger, SQL checks, HTTP checks"
    )
    add_env(parser)
    parser.add_argument(
        "--db-only",
        action="store_true",
        help="ledger and SQL checks only (before the application is deployed)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(
        run=lambda a: smoke(load_config(a), a.env, as_json=a.json, db_only=a.db_only)
    )


def smoke(config: Config, env: str, *, as_json: bool = False, db_only: bool = False) -> int:
    """Run every smoke check of ``env``; exit 0 if all pass, 1 naming each failed one."""
    if not as_json:
        out(f"Smoke tests of {env}" + (" (database only):" if db_only else ":"))
    report = (lambda _line: None) if as_json else out
    results = smoke_mod.run(config, env, report=report, http=not db_only)
    failed = [r for r in results if not r.ok]
    if as_json:
        out(json.dumps([r.__dict__ for r in results], indent=2))
        return 1 if failed else 0
    if failed:
        out(f"smoke {env}: FAILED {len(failed)} of {len(results)} check(s):")
        for result in failed:
            out(f"  - {result.kind} {result.name}: {result.detail}")
        return 1
    out(f"smoke {env}: all {len(results)} check(s) passed")
    return 0
