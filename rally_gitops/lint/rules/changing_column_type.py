"""changing-column-type: ALTER COLUMN ... TYPE that rewrites an existing table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pglast.enums import AlterTableType

from rally_gitops.lint.analysis import existing_table_commands, type_name
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "changing-column-type"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "ALTER COLUMN ... TYPE that rewrites the table (and breaks readers)"
WHY = (
    "Changing a column's type rewrites the table and rebuilds its indexes under an ACCESS "
    "EXCLUSIVE lock: no reads or writes until it is done. The running application may also break "
    "on the new type. Changes to text, varchar or numeric without USING can be binary-compatible "
    "widenings and are reported by changing-column-type-widening instead."
)
SAFE_ALTERNATIVE = (
    "Add a new column of the new type, write to both (trigger or application), backfill in "
    "batches, switch readers, then drop the old column in a later release."
)
EXAMPLE_BAD = "ALTER TABLE users ALTER COLUMN id TYPE bigint;"
EXAMPLE_OK = "ALTER TABLE users ADD COLUMN id_new bigint;"
# Targets that are no-rewrite when they widen a varchar/text/numeric column (varchar(20) →
# varchar(50), varchar → text, numeric(10,2) → numeric(12,2)); the old type is unknown here.
WIDENING_TARGETS = frozenset({"text", "varchar", "numeric", "varbit", "citext"})


def changing_column_type(ctx: FileContext) -> Iterator[Violation]:
    """Flag ALTER COLUMN TYPE on an existing table, except possible widenings."""
    for st, table, cmd, target in retyped_columns(ctx):
        if is_possible_widening(cmd, target):
            continue
        yield Violation(
            st,
            f"changing {table}.{cmd.name} to {target} rewrites {table} and its indexes and "
            "blocks reads and writes until done",
            "add a new column, dual-write and backfill in batches, then switch and drop the old",
        )


def retyped_columns(ctx: FileContext) -> Iterator[tuple[Any, str, Any, str]]:
    """(statement, table, AlterTableCmd, target type) of each ALTER COLUMN TYPE."""
    for st, table, cmd in existing_table_commands(ctx):
        if cmd.subtype == AlterTableType.AT_AlterColumnType and cmd.def_ is not None:
            yield st, table, cmd, type_name(cmd.def_.typeName)


def is_possible_widening(cmd: Any, target: str) -> bool:
    """True when the change can be a no-rewrite widening: a widening target and no USING."""
    return target in WIDENING_TARGETS and cmd.def_.raw_default is None


RULE = Rule(
    CODE,
    SEVERITY,
    changing_column_type,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
