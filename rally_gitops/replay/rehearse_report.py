"""What a rehearsal found, for people (a table per migration) and machines (JSON).

A lock "blocks writes" from SHARE up (CREATE INDEX, most ALTER TABLEs); it is held from the
statement that first takes it to the migration's COMMIT, which ``MigrationMeasure.lock_seconds``
measures. A lock blocking writes on a table that had rows, held longer than
``[tool.rally_gitops.rehearse] max_lock_seconds``, is the finding that fails a rehearsal.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rally_gitops.backup.store import human_size
from rally_gitops.replay.observe import MigrationMeasure, StatementMeasure
from rally_gitops.replay.rehearse import Rehearsal

ACCESS_EXCLUSIVE = "AccessExclusiveLock"
# the weakest mode that conflicts with ROW EXCLUSIVE (INSERT, UPDATE, DELETE): it blocks writes
BLOCKS_WRITES = "ShareLock"
INDEX_KINDS = ("index", "partitioned index")
_TEXT = 48  # characters of a statement's first line shown in the table


@dataclass(frozen=True)
class LongLock:
    """A lock blocking writes on a table with rows, held longer than allowed."""

    migration: str
    relation: str
    seconds: float
    rows_before: int


def writes_blocked(measure: MigrationMeasure) -> dict[str, float]:
    """Per table, how long ``measure``'s migration blocks writes to it (SHARE or a stronger
    mode, from the statement that takes it to COMMIT); tables it never blocks are absent."""
    return _tables_only(measure, measure.lock_seconds(BLOCKS_WRITES))


def _tables_only(measure: MigrationMeasure, held: dict[str, float]) -> dict[str, float]:
    """``held`` without indexes: their locks come with their table's, which is what is shown."""
    indexes = {
        effect.relation
        for statement in measure.statements
        for effect in statement.effects
        if effect.kind in INDEX_KINDS
    }
    return {relation: seconds for relation, seconds in held.items() if relation not in indexes}


def rows_before(measure: MigrationMeasure) -> dict[str, int]:
    """Per relation the migration touched, its rows before the migration."""
    rows: dict[str, int] = {}
    for statement in measure.statements:
        for effect in statement.effects:
            rows[effect.relation] = max(rows.get(effect.relation, 0), effect.rows_before)
    return rows


def long_locks(result: Rehearsal, limit: float) -> list[LongLock]:
    """Every lock blocking writes on a table with rows for longer than ``limit`` seconds."""
    found = []
    for measure in result.measures:
        rows = rows_before(measure)
        for relation, seconds in sorted(writes_blocked(measure).items()):
            if seconds > limit and rows.get(relation, 0) > 0:
                found.append(LongLock(measure.filename, relation, seconds, rows[relation]))
    return found


def access_exclusive_totals(result: Rehearsal) -> dict[str, float]:
    """Per relation, the time the whole deploy holds ACCESS EXCLUSIVE on it (summed over the
    migrations: each holds it until its own COMMIT)."""
    totals: dict[str, float] = {}
    for measure in result.measures:
        held = _tables_only(measure, measure.lock_seconds(ACCESS_EXCLUSIVE))
        for relation, seconds in held.items():
            totals[relation] = totals.get(relation, 0.0) + seconds
    return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))


def text_lines(result: Rehearsal, limit: float) -> Iterator[str]:
    """The report of ``rally-gitops rehearse``."""
    if not result.pending:
        yield f"{result.env}: up to date, nothing to rehearse"
        return
    assert result.backup is not None
    backup = result.backup
    yield (
        f"Rehearsed {len(result.pending)} pending migration(s) of {result.env} on a copy of "
        f"{backup.stem} ({backup.head}; {result.kind} {human_size(backup.size)}, restored in "
        f"{result.restore_seconds:.1f}s on {result.server})"
    )
    if result.kind == "schema":
        yield "note: the backup holds the schema only: no rows, so the times say little"
    for migration in result.in_backup:
        yield f"not rehearsed: {migration.filename} is already applied in the backup"
    for measure in result.measures:
        yield ""
        yield from _migration_lines(measure)
    if result.failed is not None:
        yield ""
        yield f"{result.failed.filename}  FAILED on the copy (see the error below)"
    yield ""
    totals = access_exclusive_totals(result)
    if totals:
        yield "ACCESS EXCLUSIVE (blocks reads and writes) held by the deploy, per table:"
        for relation, seconds in totals.items():
            yield f"  {relation:<40} {seconds:8.3f}s"
    else:
        yield "ACCESS EXCLUSIVE: none taken on an existing table"
    over = long_locks(result, limit)
    rehearsed = len(result.measures)
    yield (
        f"{rehearsed} migration(s) applied on the copy in "
        f"{sum(m.seconds for m in result.measures):.2f}s; "
        + (
            f"{len(over)} lock(s) blocking writes longer than max_lock_seconds = {limit:g}"
            if over
            else f"no lock blocking writes on a table with rows beyond {limit:g}s"
        )
    )


def _migration_lines(measure: MigrationMeasure) -> Iterator[str]:
    yield f"{measure.filename}  ({measure.seconds:.3f}s)"
    yield f"  {'LINE':>5}  {'STATEMENT':<{_TEXT}} {'SECONDS':>8}  LOCKS / REWRITE, SCAN / ROWS"
    for statement in measure.statements:
        effects = _effect_words(statement)
        first = effects[0] if effects else "-"
        yield (
            f"  {statement.line:>5}  {_first_line(statement.text):<{_TEXT}} "
            f"{statement.seconds:8.3f}  {first}"
        )
        for more in effects[1:]:
            yield f"  {'':>5}  {'':<{_TEXT}} {'':>8}  {more}"
    blocked = writes_blocked(measure)
    if blocked:
        held = ", ".join(f"{rel} {sec:.3f}s" for rel, sec in sorted(blocked.items()))
        yield f"  writes blocked until COMMIT: {held}"


def _effect_words(statement: StatementMeasure) -> list[str]:
    words = []
    for effect in statement.effects:
        what = [w for w, on in (("rewrite", effect.rewrite), ("scan", effect.scan)) if on]
        rows = [
            f"{n} {label}"
            for n, label in (
                (effect.inserted, "inserted"),
                (effect.updated, "updated"),
                (effect.deleted, "deleted"),
            )
            if n
        ]
        words.append(
            f"{effect.lock}{'' if effect.newly else ' (held)'} {effect.relation}"
            + (f"; {', '.join(what)}" if what else "")
            + f"; {effect.rows_before} row(s) before"
            + (f", {', '.join(rows)}" if rows else "")
        )
    return words


def _first_line(text: str) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= _TEXT else line[: _TEXT - 3] + "..."


def as_json(result: Rehearsal, limit: float) -> dict[str, Any]:
    """The report as one JSON object (``rally-gitops rehearse --json``)."""
    backup = result.backup
    over = long_locks(result, limit)
    return {
        "environment": result.env,
        "pending": [m.filename for m in result.pending],
        "backup": None
        if backup is None
        else {
            "name": backup.stem,
            "kind": result.kind,
            "created_at": backup.created_at.isoformat(),
            "size": backup.size,
        },
        "server": result.server,
        "restore_seconds": round(result.restore_seconds, 3),
        "caught_up": [m.filename for m in result.caught_up],
        "not_rehearsed": [m.filename for m in result.in_backup],
        "migrations": [_measure_json(m) for m in result.measures],
        "access_exclusive_seconds": {
            k: round(v, 6) for k, v in access_exclusive_totals(result).items()
        },
        "max_lock_seconds": limit,
        "long_locks": [
            {
                "migration": o.migration,
                "relation": o.relation,
                "seconds": round(o.seconds, 6),
                "rows_before": o.rows_before,
            }
            for o in over
        ],  # fmt: skip
        "failure": None
        if result.failed is None
        else {"migration": result.failed.filename, "message": result.failure},
        "ok": result.failed is None and not over,
    }


def _measure_json(measure: MigrationMeasure) -> dict[str, Any]:
    return {
        "filename": measure.filename,
        "seconds": round(measure.seconds, 6),
        "writes_blocked_seconds": {k: round(v, 6) for k, v in writes_blocked(measure).items()},
        "statements": [
            {
                "line": s.line,
                "text": s.text,
                "seconds": round(s.seconds, 6),
                "effects": [
                    {
                        "relation": e.relation,
                        "kind": e.kind,
                        "lock": e.lock,
                        "newly": e.newly,
                        "rewrite": e.rewrite,
                        "scan": e.scan,
                        "inserted": e.inserted,
                        "updated": e.updated,
                        "deleted": e.deleted,
                        "rows_before": e.rows_before,
                    }
                    for e in s.effects
                ],
            }
            for s in measure.statements
        ],
    }
