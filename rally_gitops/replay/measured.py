"""Findings from what replay measured (replay/observe.py), beside the linter's guesses.

Per statement of a new migration and per existing table it touched:

- ``measured-rewrite``: it rewrote the table while holding ACCESS EXCLUSIVE (nobody can read or
  write it until COMMIT, for as long as the rewrite takes): an error when the table has rows;
- ``measured-scan``: it read every row under ACCESS EXCLUSIVE (``SET NOT NULL``, a validating
  ``CHECK`` or foreign key): an error when the table has rows; under a lock that blocks writes
  only (``CREATE INDEX`` without ``CONCURRENTLY``: SHARE) a warning;
- on a table without rows (replay's tables have only the rows earlier migrations inserted) the
  same codes are notes: instant here, as slow as the table is big in production;
- ``measured-unconfirmed``: a note next to a lint finding about locks or rewrites when the
  statement measured no rewrite and no scan under a lock that blocks writes (saying which lock,
  if any, it took: one held only as long as the migration takes).

Each message says whether a lint rule flagged the statement. See docs/validate.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from rally_gitops.lint.model import Finding, Severity
from rally_gitops.replay.probe import KINDS_OF_TABLES, MODES

if TYPE_CHECKING:  # the linter's catalogue imports CODES: nothing heavy at import
    from rally_gitops.files.migrations import Migration
    from rally_gitops.replay.observe import Effect, MigrationMeasure, StatementMeasure

REWRITE = "measured-rewrite"
SCAN = "measured-scan"
UNCONFIRMED = "measured-unconfirmed"
CODES: dict[str, tuple[Severity, str]] = {
    REWRITE: ("error", "a table with rows rewritten under ACCESS EXCLUSIVE, as measured"),
    SCAN: ("error", "a table with rows scanned under ACCESS EXCLUSIVE, as measured"),
    UNCONFIRMED: ("note", "a lint finding about a rewrite or scan the measurement refutes"),
}
AEL = "AccessExclusiveLock"
# ShareLock and stronger block writes (INSERT/UPDATE/DELETE take RowExclusiveLock)
_BLOCKS_WRITES = MODES.index("ShareLock")
# the lint rules that predict a lock, a rewrite or a scan: the measurement confirms or not
STATIC = frozenset(
    {
        "adding-exclusion-constraint",
        "adding-field-with-default",
        "adding-primary-key-constraint",
        "adding-required-field",
        "adding-serial-column",
        "adding-stored-generated-column",
        "adding-unique-constraint",
        "adding-volatile-default",
        "ban-cluster",
        "ban-lock-table",
        "ban-vacuum-full",
        "changing-column-type",
        "changing-column-type-widening",
        "require-concurrent-index",
        "require-concurrent-refresh",
        "require-concurrent-reindex",
        "require-not-valid-check",
        "require-not-valid-foreign-key",
        "rewriting-table",
        "setting-not-null",
        "validate-in-same-transaction",
    }
)
_NAMES = {AEL: "ACCESS EXCLUSIVE", "ShareLock": "SHARE", "ExclusiveLock": "EXCLUSIVE"}


def findings(
    migrations: Iterable[Migration],
    measures: Sequence[MigrationMeasure],
    static: Sequence[Finding],
    *,
    assume_rows: bool = False,
) -> list[Finding]:
    """The measured findings of ``measures`` (``static``: the lint findings of the same files;
    ``assume_rows``: treat every existing table as having rows, as production's do)."""
    from rally_gitops.lint.history import shown

    by_name = {m.filename: m for m in migrations}
    found: list[Finding] = []
    for measure in measures:
        migration = by_name.get(measure.filename)
        if migration is None:
            continue
        path = shown(migration.path)
        lines = [s.line for s in measure.statements]
        predicted: dict[int, list[str]] = {}
        for finding in static:
            if finding.path == path and finding.code in STATIC:
                owner = max((line for line in lines if line <= finding.line), default=None)
                if owner is not None:
                    predicted.setdefault(owner, []).append(finding.code)
        for statement in measure.statements:
            codes = sorted(set(predicted.get(statement.line, [])))
            found.extend(_statement(path, statement, codes, assume_rows))
    return found


def _statement(
    path: str, statement: StatementMeasure, codes: list[str], assume_rows: bool
) -> list[Finding]:
    found = []
    for effect in statement.effects:
        if effect.kind not in KINDS_OF_TABLES:
            continue
        finding = _hazard(path, statement, effect, codes, assume_rows)
        if finding is not None:
            found.append(finding)
    if codes and not found:
        found.append(_unconfirmed(path, statement, codes))
    return found


def _unconfirmed(path: str, statement: StatementMeasure, codes: list[str]) -> Finding:
    locks = [e for e in statement.effects if e.newly and _blocks_writes(e)]
    taken = (
        "; it took "
        + ", ".join(f"{_NAMES.get(e.lock, e.lock)} on {e.relation}" for e in locks)
        + ", held until COMMIT"
        if locks
        else " and no lock that blocks writes on an existing table"
    )
    return Finding(
        path,
        statement.line,
        1,
        "note",
        UNCONFIRMED,
        f"measured on the replay: no rewrite and no full scan{taken} "
        f"({', '.join(codes)} expected more)",
        "the lint finding may still hold on another PostgreSQL version than the replay's; "
        "`rally-gitops rehearse` measures on a copy of real data",
    )


def _hazard(
    path: str, statement: StatementMeasure, effect: Effect, codes: list[str], assume_rows: bool
) -> Finding | None:
    if not _blocks_writes(effect) or not (effect.rewrite or effect.scan):
        return None
    rows = effect.rows_before > 0 or assume_rows
    exclusive = effect.lock == AEL
    code = REWRITE if effect.rewrite else SCAN
    severity: Severity = ("error" if exclusive else "warning") if rows else "note"
    what = "rewrote" if effect.rewrite else "read every row of"
    lock = _NAMES.get(effect.lock, effect.lock)
    blocked = "every read and write of it" if exclusive else "every write to it"
    size = f"{effect.rows_before} rows" if effect.rows_before > 0 else "no rows here"
    if effect.rows_before > 0 and effect.rows_estimated:
        size = f"an estimated {effect.rows_before} rows"
    lint = f"as {', '.join(codes)} predicted" if codes else "no lint rule flagged this statement"
    message = (
        f"{what} {effect.relation} ({size}) while holding {lock}: {blocked} waits until the "
        f"migration commits ({lint}; {statement.seconds * 1000:.0f} ms on the replay)"
    )
    if not rows:
        message += "; instant on this empty table, as long as the table is big in production"
    remedy = _help(statement.text, effect, rows)
    return Finding(path, statement.line, 1, severity, code, message, remedy)


def _help(text: str, effect: Effect, rows: bool) -> str:
    index = re.match(r"\s*CREATE\s+(UNIQUE\s+)?INDEX\b", text, re.IGNORECASE) is not None
    if effect.rewrite:
        remedy = (
            "avoid the rewrite (a new column, a batched backfill, then a swap), or run it in a "
            "maintenance window"
        )
    elif index and effect.lock == AEL:
        remedy = (
            "build the index in a migration of its own (CREATE INDEX CONCURRENTLY in a "
            "-- rally:no-transaction file): here it scans under the ACCESS EXCLUSIVE lock an "
            "earlier statement of the migration took"
        )
    elif effect.lock == AEL:
        remedy = (
            "add the constraint NOT VALID and VALIDATE it in a later migration (SHARE UPDATE "
            "EXCLUSIVE); for NOT NULL, first a validated CHECK (col IS NOT NULL)"
        )
    else:
        remedy = "use CREATE INDEX CONCURRENTLY in a -- rally:no-transaction migration"
    if not rows:
        remedy += (
            '; [tool.rally_gitops.replay] measured_rows = "assume" treats every existing table '
            "as having rows"
        )
    return remedy + "; `rally-gitops rehearse` measures the lock on a copy of real data"


def _blocks_writes(effect: Effect) -> bool:
    return effect.lock in MODES and MODES.index(effect.lock) >= _BLOCKS_WRITES
