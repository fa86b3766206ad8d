"""renaming-column: RENAME COLUMN of an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from rally_gitops.lint.facts import renamed
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "renaming-column"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "RENAME COLUMN of an existing table"
WHY = (
    "Renaming a column breaks every running client that still reads or writes the old name "
    "(the old application version during a rolling deploy, reports, other services)."
)
SAFE_ALTERNATIVE = (
    "Add a column with the new name, write both and backfill, move readers, then drop the old "
    "column in a later release."
)
EXAMPLE_BAD = "ALTER TABLE users RENAME COLUMN display_name TO full_name;"
EXAMPLE_OK = "ALTER TABLE users ADD COLUMN full_name text;"


def renaming_column(ctx: FileContext) -> Iterator[Violation]:
    """Flag RENAME COLUMN of an existing table."""
    for st in ctx.statements:
        rename = renamed(ctx, st)
        if rename is not None and rename.kind == "column":
            yield Violation(
                st,
                f"renaming {rename.kind} {rename.old} to {rename.new} breaks every running "
                "client that still uses the old name",
                "add the new column, dual-write and backfill, then drop the old one later",
            )


RULE = Rule(
    CODE,
    SEVERITY,
    renaming_column,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
