"""rewriting-table: SET TABLESPACE, SET LOGGED/UNLOGGED or SET ACCESS METHOD on a table."""

from __future__ import annotations

from collections.abc import Iterator

from pglast.enums import AlterTableType

from rally_gitops.lint.analysis import existing_table_commands
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "rewriting-table"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "ALTER TABLE ... SET TABLESPACE / SET LOGGED / SET UNLOGGED / SET ACCESS METHOD"
WHY = (
    "These subcommands copy the whole table (and its indexes) into new files while holding an "
    "ACCESS EXCLUSIVE lock: no reads or writes until the copy is done."
)
SAFE_ALTERNATIVE = (
    "Build a new table with the wanted storage, copy rows in batches, and swap names in a short "
    "transaction; or run the change in a maintenance window with "
    "`-- rally:ignore rewriting-table`."
)
EXAMPLE_BAD = "ALTER TABLE events SET TABLESPACE fast_ssd;"
EXAMPLE_OK = "ALTER TABLE events SET (fillfactor = 90);"


def rewriting_table(ctx: FileContext) -> Iterator[Violation]:
    """Flag subcommands that rewrite a pre-existing table."""
    rewrites = {
        AlterTableType.AT_SetTableSpace: "SET TABLESPACE",
        AlterTableType.AT_SetLogged: "SET LOGGED",
        AlterTableType.AT_SetUnLogged: "SET UNLOGGED",
        AlterTableType.AT_SetAccessMethod: "SET ACCESS METHOD",
    }
    for st, table, cmd in existing_table_commands(ctx):
        what = rewrites.get(cmd.subtype)
        if what:
            yield Violation(
                st,
                f"{what} rewrites {table} and blocks reads and writes until the copy is done",
                "build a new table and swap it in, or accept the lock in a maintenance window",
            )


RULE = Rule(
    CODE,
    SEVERITY,
    rewriting_table,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
