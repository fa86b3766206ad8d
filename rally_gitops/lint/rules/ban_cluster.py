"""ban-cluster: CLUSTER."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from rally_gitops.lint.analysis import is_new_table, relname
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "ban-cluster"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "CLUSTER"
WHY = (
    "CLUSTER rewrites the table in index order under an ACCESS EXCLUSIVE lock: no reads or "
    "writes until it is done."
)
SAFE_ALTERNATIVE = (
    "Use pg_repack --order-by outside migrations, or just skip it: the physical order decays "
    "with later writes anyway."
)
EXAMPLE_BAD = "CLUSTER matches USING matches_scheduled_at_idx;"
EXAMPLE_OK = "ALTER TABLE matches CLUSTER ON matches_scheduled_at_idx;"


def ban_cluster(ctx: FileContext) -> Iterator[Violation]:
    """Flag CLUSTER (pglast's AST: sqlglot rejects CLUSTER ... USING)."""
    for st in ctx.statements:
        if isinstance(st.pg, ast.ClusterStmt):
            table = relname(st.pg.relation)
            if table and is_new_table(ctx, st, table):
                continue
            yield Violation(
                st,
                f"CLUSTER rewrites {table or 'every clustered table'} and blocks reads and writes "
                "until it is done",
                "use pg_repack outside migrations, or drop the CLUSTER",
            )


RULE = Rule(
    CODE,
    SEVERITY,
    ban_cluster,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
