"""ban-drop-view: DROP VIEW or DROP MATERIALIZED VIEW that is not recreated."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import ObjectType

from rally_gitops.lint.analysis import relname, sg_table
from rally_gitops.lint.facts import dropped
from rally_gitops.lint.model import (
    AnalysedStatement,
    FileContext,
    Rule,
    RuleDocs,
    Severity,
    Violation,
)
from rally_gitops.lint.names import key

CODE = "ban-drop-view"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "DROP VIEW / DROP MATERIALIZED VIEW that the file does not recreate"
WHY = (
    "Dropping a view breaks every client and report that queries it. Dropping and recreating "
    "a view in the same transaction (to change its columns) is atomic for readers and is not "
    "flagged."
)
SAFE_ALTERNATIVE = (
    "Change a view with CREATE OR REPLACE VIEW, or DROP and CREATE it in the same transactional "
    "migration; remove a view only after no client uses it."
)
EXAMPLE_BAD = "DROP VIEW active_users;"
EXAMPLE_OK = "DROP VIEW active_users;\nCREATE VIEW active_users AS SELECT id, email FROM users;"


def ban_drop_view(ctx: FileContext) -> Iterator[Violation]:
    """Flag DROP [MATERIALIZED] VIEW unless the same transactional file creates it again."""
    for st in ctx.statements:
        drop = dropped(st)
        if drop is None or drop.kind not in ("view", "materialized view"):
            continue
        later = _views_created(ctx, ctx.statements[st.index + 1 :]) if st.in_transaction else set()
        names = [n for n in drop.names if key(ctx, st, n) not in later]
        if names:
            yield Violation(
                st,
                f"DROP {drop.kind.upper()} {', '.join(names)} breaks the clients that query it",
                "use CREATE OR REPLACE VIEW, or recreate the view in the same migration",
            )


def _views_created(ctx: FileContext, statements: list[AnalysedStatement]) -> set[tuple[str, str]]:
    """Names of the views and materialized views the statements create."""
    from sqlglot import exp

    names = set()
    for st in statements:
        name = ""
        if isinstance(st.pg, ast.ViewStmt):
            name = relname(st.pg.view)
        elif (
            isinstance(st.pg, ast.CreateTableAsStmt)
            and st.pg.objtype == ObjectType.OBJECT_MATVIEW
            and st.pg.into is not None
        ):
            name = relname(st.pg.into.rel)
        elif st.pg is None and isinstance(st.sqlglot, exp.Create) and st.sqlglot.kind == "VIEW":
            table = st.sqlglot.find(exp.Table)
            name = sg_table(table) if table is not None else ""
        if name:
            names.add(key(ctx, st, name))
    return names


RULE = Rule(
    CODE,
    SEVERITY,
    ban_drop_view,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
