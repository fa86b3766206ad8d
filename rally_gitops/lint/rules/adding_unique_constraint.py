"""adding-unique-constraint: UNIQUE constraint added to an existing table without USING INDEX."""

from __future__ import annotations

from collections.abc import Iterator

from pglast.enums import ConstrType

from rally_gitops.lint.analysis import (
    added_column,
    added_constraint,
    column_constraints,
    existing_table_commands,
    line_offset,
)
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "adding-unique-constraint"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "UNIQUE constraint added to an existing table without USING INDEX"
WHY = (
    "ADD CONSTRAINT ... UNIQUE builds a unique index while holding an ACCESS EXCLUSIVE lock: "
    "every read and write of the table waits for the whole index build. A UNIQUE clause on ADD "
    "COLUMN does the same."
)
SAFE_ALTERNATIVE = (
    "CREATE UNIQUE INDEX CONCURRENTLY in a no-transaction migration, then "
    "ALTER TABLE ... ADD CONSTRAINT name UNIQUE USING INDEX index_name (instant)."
)
EXAMPLE_BAD = "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);"
EXAMPLE_OK = "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx;"


def adding_unique_constraint(ctx: FileContext) -> Iterator[Violation]:
    """Flag UNIQUE constraints that build their index under a full lock."""
    for st, table, cmd in existing_table_commands(ctx):
        found = [added_constraint(cmd), *column_constraints(added_column(cmd))]
        for constraint in found:
            if constraint is None or constraint.contype != ConstrType.CONSTR_UNIQUE:
                continue
            if not constraint.indexname:
                yield Violation(
                    st,
                    f"adding a UNIQUE constraint builds an index on {table} while blocking "
                    "reads and writes",
                    "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... UNIQUE "
                    "USING INDEX",
                    line_offset=line_offset(st, constraint),
                )


RULE = Rule(
    CODE,
    SEVERITY,
    adding_unique_constraint,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
