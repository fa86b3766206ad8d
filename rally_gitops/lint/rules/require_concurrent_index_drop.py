"""require-concurrent-index-drop: DROP INDEX without CONCURRENTLY."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from rally_gitops.lint.facts import dropped
from rally_gitops.lint.model import (
    AnalysedStatement,
    FileContext,
    Rule,
    RuleDocs,
    Severity,
    Violation,
)
from rally_gitops.lint.names import key, shown, sqlglot_part

CODE = "require-concurrent-index-drop"
SEVERITY: Severity = "warning"
ENABLED = True
SUMMARY = "DROP INDEX without CONCURRENTLY"
WHY = (
    "DROP INDEX takes an ACCESS EXCLUSIVE lock on the index's table: it waits for every running "
    "query on the table, and while it waits every new read and write queues behind it. The deploy "
    "engine's lock_timeout bounds the wait, so this is a warning; on a busy table the drop keeps "
    "failing or briefly stalls traffic. An index created earlier in the same file is exempt."
)
SAFE_ALTERNATIVE = "Use DROP INDEX CONCURRENTLY in a migration marked `-- rally:no-transaction`."
EXAMPLE_BAD = "DROP INDEX users_email_idx;"
EXAMPLE_OK = "-- rally:no-transaction\nDROP INDEX CONCURRENTLY users_email_idx;"


def require_concurrent_index_drop(ctx: FileContext) -> Iterator[Violation]:
    """Flag DROP INDEX without CONCURRENTLY of an index this file did not create."""
    created: set[tuple[str, str]] = set()
    for st in ctx.statements:
        index = _index_created(st)
        if index:
            created.add(key(ctx, st, index))
        drop = dropped(st)
        if drop is None or drop.kind != "index" or _concurrent(st):
            continue
        names = [n for n in drop.names if key(ctx, st, n) not in created]
        if names:
            yield Violation(
                st,
                f"DROP INDEX {', '.join(names)} blocks all reads and writes of its table "
                "until the drop commits",
                "use DROP INDEX CONCURRENTLY in a migration marked -- rally:no-transaction",
            )


def _index_created(st: AnalysedStatement) -> str:
    """The shown name of the index a CREATE INDEX statement creates (in its table's schema)."""
    name, schema = "", ""
    if isinstance(st.pg, ast.IndexStmt):
        name = st.pg.idxname or ""
        schema = (st.pg.relation.schemaname or "") if st.pg.relation is not None else ""
    elif st.pg is None and st.sqlglot is not None:
        # (a statement pglast reads as anything but an IndexStmt is no CREATE INDEX for sqlglot)
        from sqlglot import exp

        if isinstance(st.sqlglot, exp.Create) and isinstance(st.sqlglot.this, exp.Index):
            name = sqlglot_part(st.sqlglot.this.this)
            table = st.sqlglot.this.args.get("table")
            schema = sqlglot_part(table.args.get("db")) if isinstance(table, exp.Table) else ""
    return shown((schema, name)) if name else ""


def _concurrent(st: object) -> bool:
    tree = getattr(st, "sqlglot", None)
    if tree is not None:
        return bool(tree.args.get("concurrently"))
    return bool(getattr(getattr(st, "pg", None), "concurrent", False))


RULE = Rule(
    CODE,
    SEVERITY,
    require_concurrent_index_drop,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
