"""changing-column-type: ALTER COLUMN ... TYPE that rewrites an existing table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from pglast.enums import AlterTableType

from rally_gitops.lint import catalog, schema_history
from rally_gitops.lint.analysis import existing_table_commands
from rally_gitops.lint.catalog import SqlType
from rally_gitops.lint.model import (
    AnalysedStatement,
    FileContext,
    Rule,
    RuleDocs,
    Severity,
    Violation,
)
from rally_gitops.lint.names import key, quote

CODE = "changing-column-type"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "ALTER COLUMN ... TYPE that rewrites the table (not binary-coercible)"
WHY = (
    "Changing a column's type rewrites the table and rebuilds its indexes under an ACCESS "
    "EXCLUSIVE lock (no reads or writes until it is done), unless the change is "
    "binary-coercible: varchar(n) to varchar(m >= n), to unlimited varchar or to text, text to "
    "unlimited varchar, numeric(p, s) to numeric(p' >= p, s) or to unlimited numeric, "
    "varbit(n) to varbit(m >= n). The column's current type comes from the earlier migrations "
    "of the directory; every other change, and any change with USING, is flagged with the "
    "table and the reason. When the history does not tell the current type, a change to "
    "text, varchar or numeric is left to changing-column-type-widening."
)
SAFE_ALTERNATIVE = (
    "Add a new column of the new type, write to both (trigger or application), backfill in "
    "batches, switch readers, then drop the old column in a later release."
)
EXAMPLE_BAD = "ALTER TABLE users ALTER COLUMN id TYPE bigint;"
EXAMPLE_OK = "ALTER TABLE users ADD COLUMN id_new bigint;"
# Targets that can be binary-coercible from some other type: when the current type is unknown,
# changing-column-type-widening asks the author to check instead
WIDENING_TARGETS = frozenset({"text", "varchar", "numeric", "varbit"})
_LIMITED = frozenset({"varchar", "varbit"})


class Retyped(NamedTuple):
    """One ALTER COLUMN ... TYPE on an existing table; ``old`` is None when the history does
    not tell the column's current type."""

    statement: AnalysedStatement
    table: str
    column: str
    old: SqlType | None
    new: SqlType
    using: bool


def changing_column_type(ctx: FileContext) -> Iterator[Violation]:
    """Flag ALTER COLUMN TYPE on an existing table unless it is binary-coercible."""
    for change in retyped_columns(ctx):
        if change.old is None:
            if is_possible_widening(change):
                continue  # changing-column-type-widening asks to check
            why = "its current type is not in the earlier migrations"
        elif binary_coercible(change.old, change.new) and not change.using:
            continue
        elif change.using:
            why = "USING recomputes every row"
        else:
            why = f"{change.old.shown} to {change.new.shown} is not binary-coercible"
        column = f"{change.table}.{quote(change.column)}"
        yield Violation(
            change.statement,
            f"changing {column} to {change.new.shown} rewrites {change.table} and its indexes "
            f"and blocks reads and writes until done ({why})",
            "add a new column, dual-write and backfill in batches, then switch and drop the old",
        )


def retyped_columns(ctx: FileContext) -> Iterator[Retyped]:
    """Each ALTER COLUMN TYPE on an existing table, with the column's type before it."""
    for st, table, cmd in existing_table_commands(ctx):
        if cmd.subtype != AlterTableType.AT_AlterColumnType or cmd.def_ is None:
            continue
        known = schema_history.before(ctx, st).table(key(ctx, st, table))
        old = known.columns.get(cmd.name) if known is not None else None
        new = catalog.column_type(cmd.def_.typeName)
        yield Retyped(st, table, cmd.name or "", old, new, cmd.def_.raw_default is not None)


def binary_coercible(old: SqlType, new: SqlType) -> bool:
    """True when PostgreSQL changes ``old`` to ``new`` in the catalog only (no rewrite, no
    scan): the exact list of binary-coercible, limit-widening changes."""
    if old == new:
        return True
    if old.array != new.array:
        return False
    if old.name in _LIMITED and new.name == old.name:
        return not new.mods or (bool(old.mods) and new.mods[0] >= old.mods[0])
    if old.name in ("varchar", "text") and new.name in ("varchar", "text"):
        return not new.mods  # to text, or to varchar without a limit
    if old.name == new.name == "numeric":
        if not new.mods:
            return True
        if not old.mods:
            return False
        old_scale = old.mods[1] if len(old.mods) > 1 else 0
        new_scale = new.mods[1] if len(new.mods) > 1 else 0
        return new.mods[0] >= old.mods[0] and new_scale == old_scale
    return False


def is_possible_widening(change: Retyped) -> bool:
    """True when a change of unknown origin can be a no-rewrite widening (no USING)."""
    return change.new.name in WIDENING_TARGETS and not change.using


RULE = Rule(
    CODE,
    SEVERITY,
    changing_column_type,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
