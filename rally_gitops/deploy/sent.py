"""The bookkeeping of migrations sent in one batch: their cursors, and which ones committed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rally_gitops.deploy import session
from rally_gitops.files.migrations import Migration
from rally_gitops.files.statements import Statement

OnApplied = Callable[[Migration, int], None]  # (migration, execution_ms) once committed


@dataclass
class Sent:
    """One migration queued in a pipeline, with the cursors of its results."""

    migration: Migration
    body: tuple[Statement, ...]
    cursors: list[Any] = field(default_factory=list)
    checking: bool = False
    check: Any = None
    row: Any = None
    end: Any = None
    snapshot: Any = None  # under observation: the snapshot's and each statement's probe cursor
    probes: list[Any] = field(default_factory=list)

    def ms(self) -> int:
        """The ``execution_ms`` the ledger recorded (the server measured it)."""
        fetched = self.row.fetchone() if self.row is not None else None
        return int(fetched[0]) if fetched else 0

    def lock_check_failed(self, error: Exception) -> bool:
        """True when every statement ran and the lock check is what failed."""
        return (
            self.checking
            and (self.check is None or self.check.pgresult is None)
            and len(self.cursors) == len(self.body)
            and all(cursor.pgresult is not None for cursor in self.cursors)
            and getattr(error, "sqlstate", None) == session.DIVISION_BY_ZERO
        )


def copies(migration: Migration) -> bool:
    """True when the file loads rows with ``COPY ... FROM stdin`` (not possible in a pipeline)."""
    return any(s.copy_data is not None for s in migration.statements)


def report_applied(sent: list[Sent], on_applied: OnApplied) -> int:
    """Call ``on_applied`` for each of ``sent``; their number."""
    for item in sent:
        on_applied(item.migration, item.ms())
    return len(sent)


def committed(sent: list[Sent]) -> list[Sent]:
    """The leading migrations whose COMMIT has its result: they are applied (a COMMIT not yet
    sent has no cursor, one skipped after an error has no result)."""
    done = []
    for item in sent:
        if item.end is None or item.end.pgresult is None:
            break
        done.append(item)
    return done
