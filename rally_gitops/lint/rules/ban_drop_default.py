"""ban-drop-default: ALTER COLUMN ... DROP DEFAULT on an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from pglast.enums import AlterTableType

from rally_gitops.lint.analysis import existing_table_commands
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation
from rally_gitops.lint.names import key, quote

CODE = "ban-drop-default"
SEVERITY: Severity = "warning"
ENABLED = True
SUMMARY = "DROP DEFAULT on a column of an existing table"
WHY = (
    "Running clients that insert without naming the column relied on the default: they now "
    "store NULL, or fail outright when the column is NOT NULL. Not flagged: a default set "
    "again later in the same transactional file (Prisma drops and re-sets the default around "
    "an enum swap), since no client sees the column without one."
)
SAFE_ALTERNATIVE = (
    "Make every writer set the column explicitly first, then drop the default in a later release."
)
EXAMPLE_BAD = "ALTER TABLE users ALTER COLUMN created_at DROP DEFAULT;"
EXAMPLE_OK = "ALTER TABLE users ALTER COLUMN created_at SET DEFAULT now();"


def ban_drop_default(ctx: FileContext) -> Iterator[Violation]:
    """Warn on DROP DEFAULT of a column of a pre-existing table, unless the same transaction
    sets a default again."""
    commands = list(existing_table_commands(ctx))
    for position, (st, table, cmd) in enumerate(commands):
        if cmd.subtype != AlterTableType.AT_ColumnDefault or cmd.def_ is not None:
            continue
        where = key(ctx, st, table)
        if st.in_transaction and any(
            later.in_transaction
            and other.subtype == AlterTableType.AT_ColumnDefault
            and other.def_ is not None
            and other.name == cmd.name
            and key(ctx, later, name) == where
            for later, name, other in commands[position + 1 :]
        ):
            continue  # set again before anyone can see the column without a default
        yield Violation(
            st,
            f"dropping the default of {table}.{quote(cmd.name)} makes inserts that omit "
            "the column store NULL or fail",
            "make every writer set the column first, then drop the default",
        )


RULE = Rule(
    CODE,
    SEVERITY,
    ban_drop_default,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
