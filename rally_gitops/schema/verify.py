"""Prove a generated migration on the throwaway server before it is written: the up SQL turns a
copy of SOURCE into TARGET exactly, the rollback turns it back into SOURCE (a re-added column's
position is the one residue allowed, listed as irreversible), and rows seeded into the changed
tables (schema/seed.py) survive every change that is not a hazard."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rally_gitops.config import Config
from rally_gitops.errors import RallyError
from rally_gitops.files.migrations import Migration
from rally_gitops.files.statements import split_statements
from rally_gitops.postgres.db import connect, describe
from rally_gitops.replay.snapshot import replayed
from rally_gitops.schema import report
from rally_gitops.schema.diff import diff
from rally_gitops.schema.filters import Filter
from rally_gitops.schema.introspect import introspect
from rally_gitops.schema.model import Enum, Model, Table
from rally_gitops.schema.plan import plan
from rally_gitops.schema.seed import Seeded, seed

Script = tuple[str, bool]  # SQL and whether it runs outside a transaction


@dataclass(frozen=True)
class Verified:
    """What the proof found: the residue of the rollback (irreversible, by name), and the
    tables that got no row (their rows were not checked) with the reason."""

    irreversible: tuple[str, ...]
    unseeded: tuple[tuple[str, str], ...] = ()


@contextmanager
def source_copy(config: Config, source: Model, migrations: list[Migration] | None) -> Iterator[str]:
    """A throwaway database holding SOURCE: its migrations replayed, or (for a live database)
    built from its model by the generator itself and checked equal to it."""
    with replayed(config, migrations or []) as url:
        if migrations is None:
            built = plan(Model({}), source, diff(Model({}), source)).sql()
            _run(url, (built, False), "building a copy of the source")
        yield url


def verify(
    config: Config,
    url: str,
    selection: Filter,
    *,
    source: Model,
    target: Model,
    ups: list[Script],
    downs: list[Script],
    keeps_rows: bool,
) -> Verified:
    """Apply the ``ups`` in order, then the ``downs``, to the copy at ``url``; a ``RallyError``
    listing the residue when either direction misses."""
    seeded = _seed(url, source, target)
    tables = [t.shown for t in source.of(Table) if t.key in target.objects]
    before = _counts(url, tables)
    for script in ups:
        try:
            _run(url, script, "the migration")
        except _Failed as failure:
            # a new check or key may refuse the invented row, not the change itself: prove
            # the script without those rows (it ran in a transaction: nothing of it is left)
            if not (seeded.tables and failure.by_data and not script[1]):
                raise
            _unseed(url, seeded.tables)
            refused = f"the change refuses the row seeded: {failure.primary}"
            seeded = Seeded((), seeded.unseeded + tuple((t, refused) for t in seeded.tables))
            before = _counts(url, tables)
            _run(url, script, "the migration")
    after_up = _model(url, selection)
    # a column's place is the one thing ALTER cannot reach (a column added to an inheritance
    # parent comes after the child's own): listed as irreversible, not refused
    order, missing = _positions(report.lines(diff(after_up, target)))
    if missing:
        raise RallyError("the generated migration does not reach the target: " + "; ".join(missing))
    if keeps_rows:
        after = _counts(url, tables)
        lost = [t for t in tables if after[t] < before[t]]
        if lost:
            raise RallyError("the generated migration loses rows of " + ", ".join(lost))
    for script in downs:
        _run(url, script, "the rollback")
    residue = report.lines(diff(_model(url, selection), source))
    positional, other = _positions(residue)
    if other:
        raise RallyError("the generated rollback does not restore the source: " + "; ".join(other))
    return Verified(tuple(order + positional), seeded.unseeded)


def _positions(lines: list[str]) -> tuple[list[str], list[str]]:
    """The report lines that are only a column's position, and the others."""
    positional = [line for line in lines if line.startswith("~ column") and "position" in line]
    return positional, [line for line in lines if line and line not in positional]


def _model(url: str, selection: Filter) -> Model:
    with connect(url, autocommit=True, purpose="generate") as conn:
        return introspect(conn, selection)


def _run(url: str, script: Script, what: str) -> None:
    """Run a script as deploy would: whole, or statement by statement outside a transaction."""
    import psycopg

    sql, no_transaction = script
    if not sql.strip():
        return
    texts = [s.sql for s in split_statements(sql)] if no_transaction else [sql]
    with connect(url, autocommit=True, purpose="generate") as conn:
        try:
            for text in texts:
                conn.execute(text.encode())
        except psycopg.Error as exc:
            raise _Failed(what, exc) from None


class _Failed(RallyError):
    """A script failed on the copy; ``by_data``: a row refused it (a constraint, a cast)."""

    def __init__(self, what: str, exc: Exception) -> None:
        self.cause = describe(exc)
        diag = getattr(exc, "diag", None)
        self.primary = str(getattr(diag, "message_primary", None) or self.cause)
        state = str(getattr(exc, "sqlstate", None) or "")
        self.by_data = state.startswith(("22", "23"))
        super().__init__(f"{what} fails on the throwaway copy: {self.cause}")


def _unseed(url: str, tables: tuple[str, ...]) -> None:
    """Delete the seeded rows, children first."""
    with connect(url, autocommit=True, purpose="generate") as conn, conn.transaction():
        for table in reversed(tables):
            conn.execute(f"DELETE FROM {table}".encode())


def _seed(url: str, source: Model, target: Model) -> Seeded:
    """A row in each table both sides have (see ``seed``)."""
    names = [t.shown for t in source.of(Table) if t.key in target.objects]
    labels = {e.shown: e.labels for e in target.of(Enum) if isinstance(e, Enum)}
    with connect(url, autocommit=True, purpose="generate") as conn:
        return seed(conn, names, labels)


def _counts(url: str, tables: list[str]) -> dict[str, int]:
    with connect(url, autocommit=True, purpose="generate") as conn:
        return {
            t: _first(conn.execute(f"SELECT count(*) FROM {t}".encode()).fetchone()) for t in tables
        }


def _first(row: tuple[object, ...] | None) -> int:
    assert row is not None
    return int(str(row[0]))
