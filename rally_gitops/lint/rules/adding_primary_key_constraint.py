"""adding-primary-key-constraint: PRIMARY KEY added to an existing table without USING INDEX."""

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

CODE = "adding-primary-key-constraint"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "PRIMARY KEY added to an existing table without USING INDEX"
WHY = (
    "ADD PRIMARY KEY builds a unique index and checks every row for NULL while holding an ACCESS "
    "EXCLUSIVE lock: every read and write of the table waits."
)
SAFE_ALTERNATIVE = (
    "Make the columns NOT NULL safely, CREATE UNIQUE INDEX CONCURRENTLY in a no-transaction "
    "migration, then ALTER TABLE ... ADD CONSTRAINT name PRIMARY KEY USING INDEX index_name."
)
EXAMPLE_BAD = "ALTER TABLE items ADD PRIMARY KEY (id);"
EXAMPLE_OK = "ALTER TABLE items ADD CONSTRAINT items_pkey PRIMARY KEY USING INDEX items_id_idx;"


def adding_primary_key_constraint(ctx: FileContext) -> Iterator[Violation]:
    """Flag PRIMARY KEYs that build their index under a full lock."""
    for st, table, cmd in existing_table_commands(ctx):
        found = [added_constraint(cmd), *column_constraints(added_column(cmd))]
        for constraint in found:
            if constraint is None or constraint.contype != ConstrType.CONSTR_PRIMARY:
                continue
            if not constraint.indexname:
                yield Violation(
                    st,
                    f"adding a PRIMARY KEY builds an index on {table} while blocking reads and "
                    "writes",
                    "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... PRIMARY KEY "
                    "USING INDEX",
                    line_offset=line_offset(st, constraint),
                )


RULE = Rule(
    CODE,
    SEVERITY,
    adding_primary_key_constraint,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
