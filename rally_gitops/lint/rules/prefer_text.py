"""prefer-text: varchar(n) or char(n) instead of text (type hygiene, off by default)."""

from __future__ import annotations

from collections.abc import Iterator

from rally_gitops.lint.facts import column_types
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation
from rally_gitops.lint.names import quote

CODE = "prefer-text"
SEVERITY: Severity = "warning"
ENABLED = False
SUMMARY = "varchar(n) or char(n) instead of text"
WHY = (
    "In PostgreSQL varchar(n) is no faster than text, and changing the limit later is a schema "
    "change (lowering it rewrites the table); char(n) pads with spaces and surprises in "
    "comparisons."
)
SAFE_ALTERNATIVE = (
    "Use text, with a CHECK (length(col) <= n) constraint if a limit matters (add it NOT VALID "
    "on an existing table)."
)
EXAMPLE_BAD = "CREATE TABLE users (id bigint, email varchar(255));"
EXAMPLE_OK = "CREATE TABLE users (id bigint, email text CHECK (length(email) <= 255));"


def prefer_text(ctx: FileContext) -> Iterator[Violation]:
    """Flag varchar(n) and char(n) columns (sqlglot's types when it parsed, else pglast's)."""
    for st in ctx.statements:
        for column in column_types(st):
            if column.name == "bpchar" or (column.name == "varchar" and column.sized):
                yield Violation(
                    st,
                    f"column {quote(column.column)} is {column.name} with a length limit; "
                    "text with a "
                    "CHECK is easier to change",
                    "use text, with a CHECK on length if needed",
                )


RULE = Rule(
    CODE,
    SEVERITY,
    prefer_text,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
