"""``rally-gitops check``: can each environment be reached and deployed to?"""

from __future__ import annotations

import argparse
import os
import time

from rally_gitops.cli import add_env, load_config, out
from rally_gitops.config import Config
from rally_gitops.deploy.ledger import Ledger
from rally_gitops.deploy.rights import ledger_rights
from rally_gitops.errors import RallyError
from rally_gitops.postgres.db import connect, resolve, server_version


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("check", help="check connection, version, latency and rights")
    add_env(parser, multiple=True)
    parser.set_defaults(run=lambda a: check(load_config(a), envs=a.env))


def check(config: Config, *, envs: list[str] | None) -> int:
    """Check every environment named (or every configured one); exit 1 if one fails."""
    failures = 0
    for name in envs or list(config.environments):
        env = config.environment(name)
        if not envs and not env.embedded and not os.environ.get(env.url_env):
            out(f"{name}: not configured ({env.url_env} is not set), skipped")
            continue
        try:
            out(f"{name}: " + check_one(config, name))
        except RallyError as exc:
            if envs and exc.exit_code == 2:
                raise
            failures += 1
            out(f"{name}: FAILED: {exc}")
    return 1 if failures else 0


def check_one(config: Config, name: str) -> str:
    """One line: where, server version, latency, ledger state and whether we may create it."""
    target = resolve(config, name)
    with connect(target.url, autocommit=True, purpose="check") as conn:
        samples = []
        for _ in range(3):
            started = time.perf_counter()
            conn.execute("SELECT 1").fetchone()
            samples.append((time.perf_counter() - started) * 1000)
        version = server_version(conn)
        rights = ledger_rights(conn, config.ledger_schema)
        problem = rights.problem(write=True)
        if problem is None and rights.exists:
            count = len(Ledger.for_config(conn, config).applied())
            state = f"ledger present ({count} applied)"
        else:
            state = "no ledger yet (created by the first deploy)"
    if problem is not None:
        raise RallyError(f"{target.label}: reachable, but {problem}")
    return f"ok, {target.label}, PostgreSQL {version}, latency {min(samples):.1f} ms, {state}"
