"""prefer-identity: serial types instead of an identity column (type hygiene, off by default)."""

from __future__ import annotations

from collections.abc import Iterator

from rally_gitops.lint.facts import column_types
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation
from rally_gitops.lint.names import quote

CODE = "prefer-identity"
SEVERITY: Severity = "warning"
ENABLED = False
SUMMARY = "serial, bigserial or smallserial instead of an identity column"
WHY = (
    "serial types are a shorthand for a separately owned sequence and a DEFAULT: permissions, "
    "dumps and copies of the table (CREATE TABLE ... LIKE) treat it awkwardly, and nothing stops "
    "manual inserts from colliding with it. Identity columns are the SQL-standard form."
)
SAFE_ALTERNATIVE = "Use bigint GENERATED ALWAYS AS IDENTITY (or BY DEFAULT AS IDENTITY)."
EXAMPLE_BAD = "CREATE TABLE teams (id bigserial PRIMARY KEY);"
EXAMPLE_OK = "CREATE TABLE teams (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);"


def prefer_identity(ctx: FileContext) -> Iterator[Violation]:
    """Flag serial column types (sqlglot's types when it parsed, else pglast's)."""
    for st in ctx.statements:
        for column in column_types(st):
            if column.name in ("serial", "bigserial", "smallserial"):
                yield Violation(
                    st,
                    f"column {quote(column.column)} is {column.name}; identity columns are the "
                    "standard, better-behaved form",
                    "use bigint GENERATED ALWAYS AS IDENTITY",
                )


RULE = Rule(
    CODE,
    SEVERITY,
    prefer_identity,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
