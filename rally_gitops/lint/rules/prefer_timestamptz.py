"""prefer-timestamptz: timestamp without time zone (type hygiene, off by default)."""

from __future__ import annotations

from collections.abc import Iterator

from rally_gitops.lint.facts import column_types
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "prefer-timestamptz"
SEVERITY: Severity = "warning"
ENABLED = False
SUMMARY = "timestamp without time zone"
WHY = (
    "timestamp without time zone stores a wall-clock reading with no zone: the same instant "
    "written by servers or sessions in different zones compares wrongly, and DST makes some "
    "values ambiguous."
)
SAFE_ALTERNATIVE = "Use timestamptz (timestamp with time zone), which stores an absolute instant."
EXAMPLE_BAD = "CREATE TABLE events (id bigint, happened_at timestamp);"
EXAMPLE_OK = "CREATE TABLE events (id bigint, happened_at timestamptz);"


def prefer_timestamptz(ctx: FileContext) -> Iterator[Violation]:
    """Flag timestamp columns (sqlglot's types when it parsed, else pglast's)."""
    for st in ctx.statements:
        for column in column_types(st):
            if column.name == "timestamp":
                yield Violation(
                    st,
                    f"column {column.column} is timestamp without time zone; instants written "
                    "from different zones compare wrongly",
                    "use timestamptz",
                )


RULE = Rule(
    CODE,
    SEVERITY,
    prefer_timestamptz,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
