"""renaming-schema: RENAME of a schema."""

from __future__ import annotations

from collections.abc import Iterator

from rally_gitops.lint.facts import renamed
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "renaming-schema"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "RENAME of a schema"
WHY = (
    "Renaming a schema breaks every client and search_path that names the old schema, and every "
    "function body that qualifies objects with it."
)
SAFE_ALTERNATIVE = (
    "Create the new schema and move objects (or clients) over gradually; drop the old schema last."
)
EXAMPLE_BAD = "ALTER SCHEMA reporting RENAME TO analytics;"
EXAMPLE_OK = "CREATE SCHEMA analytics;"


def renaming_schema(ctx: FileContext) -> Iterator[Violation]:
    """Flag RENAME of a schema."""
    for st in ctx.statements:
        rename = renamed(ctx, st)
        if rename is not None and rename.kind == "schema":
            yield Violation(
                st,
                f"renaming {rename.kind} {rename.old} to {rename.new} breaks every running "
                "client that still uses the old name",
                "create the new schema and move clients over before retiring the old one",
            )


RULE = Rule(
    CODE,
    SEVERITY,
    renaming_schema,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
