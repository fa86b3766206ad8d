"""prefer-bigint: int or smallint for an id column (type hygiene, off by default)."""

from __future__ import annotations

from collections.abc import Iterator

from rally_gitops.lint.facts import column_types
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation
from rally_gitops.lint.names import quote

CODE = "prefer-bigint"
SEVERITY: Severity = "warning"
ENABLED = False
SUMMARY = "int or smallint for an id column"
WHY = (
    "A 4-byte integer key runs out at 2,147,483,647; widening a primary key and every foreign "
    "key that references it later means rewriting those tables under heavy locks. Columns named "
    "id or ending in _id are checked."
)
SAFE_ALTERNATIVE = (
    "Use bigint (or bigint GENERATED ALWAYS AS IDENTITY) for ids and the columns that reference "
    "them."
)
EXAMPLE_BAD = "CREATE TABLE teams (id integer PRIMARY KEY, owner_id integer);"
EXAMPLE_OK = "CREATE TABLE teams (id bigint PRIMARY KEY, owner_id bigint);"
_SMALL = ("int4", "int2", "serial", "smallserial")


def prefer_bigint(ctx: FileContext) -> Iterator[Violation]:
    """Flag 2- and 4-byte integer id columns (sqlglot's types when it parsed, else pglast's)."""
    for st in ctx.statements:
        for column in column_types(st):
            if column.name in _SMALL and (column.column == "id" or column.column.endswith("_id")):
                yield Violation(
                    st,
                    f"id column {quote(column.column)} is {column.name}: it overflows at 2^31 and "
                    "widening it later rewrites the table",
                    "use bigint",
                )


RULE = Rule(
    CODE,
    SEVERITY,
    prefer_bigint,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
