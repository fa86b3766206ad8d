"""ban-drop-schema: DROP SCHEMA."""

from __future__ import annotations

from collections.abc import Iterator

from rally_gitops.lint.facts import dropped
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "ban-drop-schema"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "DROP SCHEMA"
WHY = (
    "Dropping a schema deletes every table, view, function and row in it (with CASCADE) and "
    "breaks every client that still uses it; the data is gone unless you restore a backup."
)
SAFE_ALTERNATIVE = (
    "Stop using the schema in a release first; rename it or revoke access and wait before "
    "dropping it, and take a backup."
)
EXAMPLE_BAD = "DROP SCHEMA reporting CASCADE;"
EXAMPLE_OK = "ALTER SCHEMA reporting OWNER TO archive;"

HELP = "retire the schema in the application first and drop it in a later release, after a backup"


def ban_drop_schema(ctx: FileContext) -> Iterator[Violation]:
    """Flag DROP SCHEMA."""
    for st in ctx.statements:
        drop = dropped(st)
        if drop is None or drop.kind != "schema":
            continue
        yield Violation(
            st,
            f"DROP {drop.kind.upper()} {', '.join(drop.names)} "
            "deletes its objects and data and breaks every client still using it",
            HELP,
        )


RULE = Rule(
    CODE,
    SEVERITY,
    ban_drop_schema,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
