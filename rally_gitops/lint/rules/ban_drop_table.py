"""ban-drop-table: DROP TABLE of a table that existed before this migration."""

from __future__ import annotations

from collections.abc import Iterator

from rally_gitops.lint.analysis import is_new_table
from rally_gitops.lint.facts import dropped
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "ban-drop-table"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "DROP TABLE of an existing table"
WHY = (
    "Dropping a table deletes its data for good and breaks every running client that still "
    "reads or writes it: during a rolling deploy the old application version is still live. A "
    "table created earlier in the same file is exempt."
)
SAFE_ALTERNATIVE = (
    "Stop using the table in one release, then drop it in a later migration (after a backup; "
    "or rename it to an _archived name first and drop that later)."
)
EXAMPLE_BAD = "DROP TABLE user_preferences;"
EXAMPLE_OK = "CREATE TABLE scratch (id bigint);\nDROP TABLE scratch;"


def ban_drop_table(ctx: FileContext) -> Iterator[Violation]:
    """Flag DROP TABLE of tables this file did not create."""
    for st in ctx.statements:
        drop = dropped(st)
        if drop is None or drop.kind != "table":
            continue
        names = [n for n in drop.names if not is_new_table(ctx, st, n)]
        if names:
            yield Violation(
                st,
                f"DROP TABLE {', '.join(names)} deletes its data and breaks clients still using it",
                "stop using the table in a release first and drop it in a later migration",
            )


RULE = Rule(
    CODE,
    SEVERITY,
    ban_drop_table,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
