"""What the applier does when a migration fails: a ``Failure`` record, and the handlers that turn
it into the exception to raise (the deploy's records a ledger event first; replay has its own).

The applier raises what its handler returns (``raise handler(failure)``), so a handler cannot
let a failed migration go on as if it had been applied.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rally_gitops.errors import DeployError
from rally_gitops.files.migrations import Migration
from rally_gitops.files.statements import Statement
from rally_gitops.postgres.db import describe

if TYPE_CHECKING:
    from rally_gitops.deploy.ledger import Ledger


@dataclass(frozen=True)
class Failure:
    """A migration that failed: the error, the statement it failed at, and whether it ran
    outside a transaction (``blocking``: its earlier statements stay applied)."""

    migration: Migration
    error: Exception
    statement: Statement
    blocking: bool


FailureHandler = Callable[[Failure], BaseException]


class OutcomeUnknown(DeployError):
    """The connection was lost while migrations were in flight: whether they committed is
    unknown until someone looks at the ledger (``rally-gitops status``)."""

    def __init__(self, message: str, migrations: list[Migration]) -> None:
        super().__init__(message)
        self.migrations = migrations


class LockLost(DeployError):
    """A migration released the deploy lock (``pg_advisory_unlock_all()``, ``DISCARD ALL``)."""


def recording(ledger: Ledger) -> FailureHandler:
    """The deploy's handler: a ``failure`` event in the ledger, then a ``DeployError``."""

    def handle(failure: Failure) -> BaseException:
        migration, statement = failure.migration, failure.statement
        message = describe(failure.error)
        detail = f"line {statement.line}: {message}"
        # the connection may be gone; the error below says enough
        with contextlib.suppress(Exception):
            ledger.record_event(
                "failure", migration=migration, detail=detail, blocking=failure.blocking
            )
        where = f"{migration.filename}:{statement.line}"
        if failure.blocking:
            return DeployError(
                f"{where}: {message}\n{migration.filename} runs outside a transaction, so the "
                "statements before this one stay applied. Fix the database by hand (finish or "
                "undo them), then run `rally-gitops repair` before deploying again."
            )
        return DeployError(f"{where}: {message} (the migration was rolled back)")

    return handle


def lost(migrations: list[Migration]) -> OutcomeUnknown:
    """The connection dropped while ``migrations`` had their COMMIT sent but not answered."""
    names = ", ".join(m.filename for m in migrations)
    return OutcomeUnknown(
        f"lost the connection to the database while applying {names}: whether "
        f"{'it' if len(migrations) == 1 else 'they'} committed is unknown",
        migrations,
    )


def lock_lost(migration: Migration, *, transactional: bool) -> LockLost:
    """``migration`` released the deploy lock; say what became of it."""
    outcome = (
        "it was rolled back"
        if transactional
        else "it ran outside a transaction and is applied and recorded"
    )
    return LockLost(
        f"{migration.filename} released the deploy lock (pg_advisory_unlock_all(), "
        f"pg_advisory_unlock or DISCARD ALL); {outcome}, and the deploy stopped\n"
        "another deploy may have started meanwhile; remove the statement that releases the lock"
    )


def failed_statement(
    body: tuple[Statement, ...], cursors: list[Any], error: Exception
) -> Statement:
    """The statement that failed in a pipeline: the first one without a result (those after it
    were skipped).

    When every statement has its result, the ledger row or the COMMIT failed (a deferred
    constraint, say): that is reported at the migration's last statement.
    """
    for statement, cursor in zip(body, cursors, strict=False):
        if cursor.pgresult is None:
            return at_error(statement, error)
    if len(cursors) < len(body):  # raised while the statements were still being sent
        return at_error(body[len(cursors)], error)
    return body[-1] if body else Statement("", 1, 1, 0)


def at_error(statement: Statement, error: Exception) -> Statement:
    """``statement`` moved to the line of the error token (the server's position is counted in
    characters from the start of the statement, which was sent on its own)."""
    position = getattr(getattr(error, "diag", None), "statement_position", None)
    if not position or int(position) <= 1:
        return statement
    inner = statement.sql.count("\n", 0, int(position) - 1)
    return statement._replace(line=statement.line + inner)
