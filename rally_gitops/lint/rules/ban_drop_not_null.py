"""ban-drop-not-null: ALTER COLUMN ... DROP NOT NULL."""

from __future__ import annotations

from collections.abc import Iterator

from pglast.enums import AlterTableType

from rally_gitops.lint.analysis import existing_table_commands
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation
from rally_gitops.lint.names import quote

CODE = "ban-drop-not-null"
SEVERITY: Severity = "warning"
ENABLED = True
SUMMARY = "DROP NOT NULL on an existing column"
WHY = (
    "The statement itself is instant, but it is backward-incompatible for readers: code that "
    "assumed the column is never NULL (application models, reports, other services) starts "
    "seeing NULLs as soon as a writer stores one."
)
SAFE_ALTERNATIVE = (
    "Make sure every reader handles NULL first, then drop the constraint; mark the statement with "
    "`-- rally:ignore ban-drop-not-null` once they do."
)
EXAMPLE_BAD = "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;"
EXAMPLE_OK = "ALTER TABLE users ALTER COLUMN email SET DEFAULT '';"


def ban_drop_not_null(ctx: FileContext) -> Iterator[Violation]:
    """Warn on DROP NOT NULL of a column of a pre-existing table."""
    for st, table, cmd in existing_table_commands(ctx):
        if cmd.subtype == AlterTableType.AT_DropNotNull:
            yield Violation(
                st,
                f"dropping NOT NULL on {table}.{quote(cmd.name)} lets NULLs reach readers "
                "that do not "
                "expect them",
                "update every reader to handle NULL before dropping the constraint",
            )


RULE = Rule(
    CODE,
    SEVERITY,
    ban_drop_not_null,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
