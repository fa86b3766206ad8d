"""unbatched-data-change: UPDATE or DELETE without WHERE on an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from rally_gitops.lint.analysis import is_new_table
from rally_gitops.lint.facts import data_change
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "unbatched-data-change"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "UPDATE or DELETE without WHERE (or with an always-true one) on an existing table"
WHY = (
    "An UPDATE or DELETE of every row in one transaction locks every row until the migration "
    "commits (other writers to those rows wait), writes the whole table to WAL at once (replicas "
    "lag) and leaves a table's worth of dead rows. A DELETE without WHERE also destroys data. "
    "A WHERE that is always true (WHERE true, WHERE 1 = 1, WHERE 'a' = 'a' AND NOT false, "
    "WHERE true OR ...) filters nothing and counts as none."
)
SAFE_ALTERNATIVE = (
    "Backfill in batches outside the schema migration (UPDATE ... WHERE id BETWEEN ... in a "
    "loop, each batch its own transaction), or restrict the statement with a WHERE clause."
)
EXAMPLE_BAD = "UPDATE users SET display_name = email;"
EXAMPLE_OK = "UPDATE users SET display_name = email WHERE display_name = '';"


def unbatched_data_change(ctx: FileContext) -> Iterator[Violation]:
    """Flag UPDATE/DELETE without WHERE on tables this file did not create."""
    for st in ctx.statements:
        change = data_change(st)
        if change is None:
            continue
        verb, table, where = change
        if where == "real" or is_new_table(ctx, st, table):
            continue
        what = "deletes" if verb == "DELETE" else "rewrites"
        how = "without WHERE" if where == "none" else "with an always-true WHERE"
        yield Violation(
            st,
            f"{verb} {how} {what} every row of {table} in one transaction, locking "
            "them all until commit",
            "batch the change (each batch its own transaction) or add a WHERE clause",
        )


RULE = Rule(
    CODE,
    SEVERITY,
    unbatched_data_change,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
