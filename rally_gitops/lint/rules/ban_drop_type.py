"""ban-drop-type: DROP TYPE or DROP DOMAIN."""

from __future__ import annotations

from collections.abc import Iterator

from rally_gitops.lint import file_types
from rally_gitops.lint.facts import dropped
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation
from rally_gitops.lint.names import key

CODE = "ban-drop-type"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "DROP TYPE or DROP DOMAIN"
WHY = (
    "Dropping a type breaks every column, function and client that uses it (CASCADE drops "
    "those columns and their data). Not flagged: a type the same file created, or the name an "
    "existing type was renamed away to when the file gives its old name to another type (the "
    'enum swap Prisma generates: CREATE TYPE "Role_new", move the columns, rename, DROP TYPE '
    '"Role_old").'
)
SAFE_ALTERNATIVE = "Stop using the type in a release first, then drop it in a later migration."
EXAMPLE_BAD = "DROP TYPE match_status;"
EXAMPLE_OK = "CREATE TYPE match_result AS ENUM ('won', 'lost', 'draw');"

HELP = "stop using the type in a release first and drop it in a later migration"


def ban_drop_type(ctx: FileContext) -> Iterator[Violation]:
    """Flag DROP TYPE or DROP DOMAIN of a type that clients may know."""
    for st in ctx.statements:
        drop = dropped(st)
        if drop is None or drop.kind != "type":
            continue
        inside = file_types.internal(ctx)
        names = [n for n in drop.names if (st.index, key(ctx, st, n)) not in inside]
        if not names:
            continue  # a type only this file has seen (an enum swap's "_old")
        yield Violation(
            st,
            f"DROP {drop.kind.upper()} {', '.join(names)} "
            "breaks the columns, functions and clients that use it",
            HELP,
        )


RULE = Rule(
    CODE,
    SEVERITY,
    ban_drop_type,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
