"""ban-vacuum-full: VACUUM FULL."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "ban-vacuum-full"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "VACUUM FULL"
WHY = (
    "VACUUM FULL rewrites each table into new files under an ACCESS EXCLUSIVE lock: no reads or "
    "writes until it finishes, and it needs room for a second copy. (VACUUM also cannot run in a "
    "transaction block.)"
)
SAFE_ALTERNATIVE = (
    "Use plain VACUUM (or let autovacuum work); to reclaim space online use pg_repack or "
    "pg_squeeze, outside migrations."
)
EXAMPLE_BAD = "-- rally:no-transaction\nVACUUM FULL users;"
EXAMPLE_OK = "-- rally:no-transaction\nVACUUM (ANALYZE) users;"


def ban_vacuum_full(ctx: FileContext) -> Iterator[Violation]:
    """Flag VACUUM FULL (pglast's AST: sqlglot keeps VACUUM as an opaque command)."""
    for st in ctx.statements:
        node = st.pg
        if not isinstance(node, ast.VacuumStmt) or not node.is_vacuumcmd:
            continue
        for option in node.options or ():
            value = getattr(option.arg, "sval", None) or str(getattr(option.arg, "ival", ""))
            if option.defname == "full" and value.lower() not in ("false", "off", "0"):
                yield Violation(
                    st,
                    "VACUUM FULL rewrites the table and blocks reads and writes until it is done",
                    "use plain VACUUM, or pg_repack outside migrations",
                )


RULE = Rule(
    CODE,
    SEVERITY,
    ban_vacuum_full,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
