"""Can an environment be reached and deployed to: server, latency, ledger, write rights."""

from __future__ import annotations

import time

from rally_gitops.config import Config
from rally_gitops.deploy.ledger import Ledger
from rally_gitops.deploy.rights import ledger_rights
from rally_gitops.errors import RallyError
from rally_gitops.postgres.db import connect, resolve, server_version


def check_one(config: Config, name: str, *, write: bool = True) -> str:
    """One line: where, server version, latency, ledger state and whether we may create it
    (``write``: and write it, as a deploy must; else only read it)."""
    target = resolve(config, name)
    with connect(target.url, autocommit=True, purpose="check") as conn:
        samples = []
        for _ in range(3):
            started = time.perf_counter()
            conn.execute("SELECT 1").fetchone()
            samples.append((time.perf_counter() - started) * 1000)
        version = server_version(conn)
        rights = ledger_rights(conn, config.ledger_schema)
        problem = rights.problem(write=write)
        if problem is None and rights.exists:
            count = len(Ledger.for_config(conn, config).applied())
            state = f"ledger present ({count} applied)"
        else:
            state = "no ledger yet (created by the first deploy)"
        if not write:
            state += ", read-only check"
    if problem is not None:
        raise RallyError(f"{target.label}: reachable, but {problem}")
    return f"ok, {target.label}, PostgreSQL {version}, latency {min(samples):.1f} ms, {state}"
