"""Roll back the newest applied migrations by their own rollback sections, newest first.

Each step runs in one transaction with its ledger update (applied row removed, ``rollback`` event
in the history), so a failed step changes nothing. A migration without a rollback section, whose
file is gone or was edited since it was applied stops the rollback before it: only a restore can
go further back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rally_gitops.deploy.ledger import Ledger
from rally_gitops.deploy.records import Applied
from rally_gitops.deploy.session import timeouts_sql
from rally_gitops.errors import ConfigError, DeployError
from rally_gitops.files.migrations import VERSION_RE, Migration
from rally_gitops.postgres.db import describe
from rally_gitops.steps import Report

if TYPE_CHECKING:
    import psycopg

    from rally_gitops.config import Config


@dataclass(frozen=True)
class Step:
    """One applied migration, and whether its rollback section can undo it."""

    applied: Applied
    migration: Migration | None
    problem: str | None  # why it cannot be rolled back by script; None when it can

    @property
    def name(self) -> str:
        return self.migration.filename if self.migration else f"{self.applied.name}.sql"


@dataclass
class Plan:
    """The steps to run (newest first) and the one that stops the rollback, if any."""

    steps: list[Step] = field(default_factory=list)
    stop: Step | None = None
    wanted: int = 0


def classify(applied: Applied, files: dict[str, Migration]) -> Step:
    """Can ``applied`` be rolled back by script? (file present, unchanged, with a rollback)."""
    migration = files.get(applied.version)
    if migration is None:
        return Step(applied, None, "its file is gone from the repository")
    if migration.checksum != applied.checksum:
        return Step(applied, migration, "its file was edited after it was applied")
    if not migration.rollback_statements():
        return Step(applied, migration, "it has no rollback section")
    return Step(applied, migration, None)


def steps_back(applied: dict[str, Applied], files: dict[str, Migration]) -> list[Step]:
    """Every applied migration, newest first, classified."""
    return [classify(applied[v], files) for v in sorted(applied, reverse=True)]


def plan(
    applied: dict[str, Applied],
    migrations: list[Migration],
    *,
    steps: int | None = None,
    to: str | None = None,
) -> Plan:
    """Which migrations ``--steps N`` or ``--to VERSION`` rolls back, and where it must stop."""
    candidates = steps_back(applied, {m.version: m for m in migrations})
    if steps is not None:
        if steps < 1:
            raise ConfigError("--steps must be 1 or more")
        wanted = candidates[:steps]
    elif to is not None:
        version = "" if to == "0" else to[:15]  # --to 0: everything
        if version and not VERSION_RE.match(version):
            raise ConfigError(f"--to {to!r}: expected a version such as 20241208_143000, or 0")
        if version and version not in applied:
            raise ConfigError(f"--to {version}: not an applied migration of this database")
        wanted = [s for s in candidates if s.applied.version > version]
    else:
        raise ConfigError("say how far back: --steps N or --to VERSION")
    result = Plan(wanted=len(wanted))
    for step in wanted:
        if step.problem is not None:
            result.stop = step
            break
        result.steps.append(step)
    return result


def run_step(conn: psycopg.Connection, config: Config, step: Step, report: Report) -> int:
    """Run one migration's rollback section with its ledger update; milliseconds."""
    import psycopg

    migration = step.migration
    assert migration is not None
    statements = migration.rollback_statements()
    ledger = Ledger.for_config(conn, config)
    started = time.perf_counter()
    current = statements[0]
    try:
        if migration.no_transaction:
            # e.g. DROP INDEX CONCURRENTLY: cannot run in a transaction block, like its up part
            conn.execute(timeouts_sql(config, local=False))
            for current in statements:
                conn.execute(current.sql)
            conn.execute("RESET lock_timeout; RESET statement_timeout")
            with conn.transaction():
                _record(ledger, migration, started)
        else:
            with conn.transaction():
                conn.execute(timeouts_sql(config, local=True))
                for current in statements:
                    conn.execute(current.sql)
                _record(ledger, migration, started)
    except psycopg.Error as exc:
        message = getattr(getattr(exc, "diag", None), "message_primary", None) or describe(exc)
        detail = f"rollback line {current.line}: {message}"
        try:
            ledger.record_event("rollback_failure", migration=migration, detail=detail)
        except psycopg.Error:
            pass  # the connection may be gone; the error below says enough
        undone = (
            "statements before it stay undone; finish by hand"
            if migration.no_transaction
            else "nothing of it was undone"
        )
        raise DeployError(f"{migration.filename}:{current.line}: {message} ({undone})") from None
    elapsed = int((time.perf_counter() - started) * 1000)
    report(f"  rolled back {migration.filename} ({elapsed} ms)")
    return elapsed


def _record(ledger: Ledger, migration: Migration, started: float) -> None:
    ledger.remove_applied(migration.version)
    ledger.record_event(
        "rollback",
        migration=migration,
        execution_ms=int((time.perf_counter() - started) * 1000),
        detail="rollback section run",
    )
