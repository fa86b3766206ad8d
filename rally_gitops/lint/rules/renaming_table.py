"""renaming-table: RENAME of an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from rally_gitops.lint.facts import renamed
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "renaming-table"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "RENAME of an existing table"
WHY = (
    "Renaming a table breaks every running client that still uses the old name: during a "
    "rolling deploy the old application version is still live. A table created earlier in the "
    "same file is exempt."
)
SAFE_ALTERNATIVE = (
    "Create the new table (or a view with the new name over the old table), move clients over, "
    "then drop the old name in a later release."
)
EXAMPLE_BAD = "ALTER TABLE users RENAME TO accounts;"
EXAMPLE_OK = "CREATE VIEW accounts AS SELECT * FROM users;"


def renaming_table(ctx: FileContext) -> Iterator[Violation]:
    """Flag RENAME of an existing table."""
    for st in ctx.statements:
        rename = renamed(ctx, st)
        if rename is not None and rename.kind == "table":
            yield Violation(
                st,
                f"renaming {rename.kind} {rename.old} to {rename.new} breaks every running "
                "client that still uses the old name",
                "expose the new name as a view first, move clients, then rename in a later release",
            )


RULE = Rule(
    CODE,
    SEVERITY,
    renaming_table,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
