"""ban-drop-database: DROP DATABASE."""

from __future__ import annotations

from collections.abc import Iterator

from rally_gitops.lint.facts import dropped
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "ban-drop-database"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "DROP DATABASE"
WHY = (
    "DROP DATABASE deletes a whole database; in a migration it is almost always a mistake "
    "(and it cannot run inside a transaction anyway)."
)
SAFE_ALTERNATIVE = "Drop databases by hand, outside migrations, after a backup."
EXAMPLE_BAD = "DROP DATABASE rally_old;"
EXAMPLE_OK = "DROP TABLE IF EXISTS scratch_import;"

HELP = "do it by hand outside migrations, after a backup"


def ban_drop_database(ctx: FileContext) -> Iterator[Violation]:
    """Flag DROP DATABASE."""
    for st in ctx.statements:
        drop = dropped(st)
        if drop is None or drop.kind != "database":
            continue
        yield Violation(
            st,
            f"DROP {drop.kind.upper()} {', '.join(drop.names)} "
            "deletes the whole database and all its data",
            HELP,
        )


RULE = Rule(
    CODE,
    SEVERITY,
    ban_drop_database,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
