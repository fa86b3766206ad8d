"""renaming-enum-value: ALTER TYPE ... RENAME VALUE of an enum."""

from __future__ import annotations

from collections.abc import Iterator

from rally_gitops.lint.facts import renamed
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "renaming-enum-value"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "ALTER TYPE ... RENAME VALUE of an enum"
WHY = (
    "Renaming an enum value is instant, but every running client that writes or compares the "
    "old label starts failing (invalid input value for enum) or silently matching nothing."
)
SAFE_ALTERNATIVE = (
    "ADD VALUE the new label, migrate rows and clients to it in batches, and stop using the old "
    "label; enum values cannot be removed, so document the old one as retired."
)
EXAMPLE_BAD = "ALTER TYPE match_status RENAME VALUE 'live' TO 'in_progress';"
EXAMPLE_OK = "ALTER TYPE match_status ADD VALUE 'in_progress';"


def renaming_enum_value(ctx: FileContext) -> Iterator[Violation]:
    """Flag ALTER TYPE ... RENAME VALUE of an enum."""
    for st in ctx.statements:
        rename = renamed(ctx, st)
        if rename is not None and rename.kind == "enum value":
            yield Violation(
                st,
                f"renaming {rename.kind} {rename.old} to {rename.new} breaks every running "
                "client that still uses the old name",
                "add the new value, move rows and clients over, and retire the old label",
            )


RULE = Rule(
    CODE,
    SEVERITY,
    renaming_enum_value,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
