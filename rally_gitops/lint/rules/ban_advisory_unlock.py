"""ban-advisory-unlock: a migration that releases advisory locks releases the deploy lock."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import DiscardMode

from rally_gitops.lint.analysis import dotted, walk_pg
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "ban-advisory-unlock"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "pg_advisory_unlock_all(), pg_advisory_unlock(...) or DISCARD ALL in a migration"
WHY = (
    "The deploy engine holds a session-level advisory lock so that two deploys to one database "
    "never run at once. pg_advisory_unlock_all() and DISCARD ALL (which calls it) release every "
    "advisory lock of the session, pg_advisory_unlock(...) may release the engine's own: a "
    "second deploy can then start while this one is still applying migrations. The engine stops "
    "when it finds its lock gone, but the migration should never do it."
)
SAFE_ALTERNATIVE = (
    "Take and release your own locks with transaction-level pg_advisory_xact_lock(...), which "
    "ends with the transaction; use DISCARD PLANS, SEQUENCES or TEMP for what you need to reset."
)
EXAMPLE_BAD = "SELECT pg_advisory_unlock_all();"
EXAMPLE_OK = "SELECT pg_advisory_xact_lock(42);"
_UNLOCKS = frozenset({"pg_advisory_unlock_all", "pg_advisory_unlock", "pg_advisory_unlock_shared"})


def ban_advisory_unlock(ctx: FileContext) -> Iterator[Violation]:
    """Flag calls that release session advisory locks, and DISCARD ALL."""
    for st in ctx.statements:
        node = st.pg
        if isinstance(node, ast.DiscardStmt):
            if node.target == DiscardMode.DISCARD_ALL:
                yield Violation(
                    st,
                    "DISCARD ALL releases every advisory lock of the session, the deploy lock "
                    "too: another deploy can start while this one runs",
                    "reset only what you need (DISCARD PLANS, SEQUENCES or TEMP)",
                )
            continue
        if node is None or "unlock" not in st.sql.lower():  # cheap: no walk for most statements
            continue
        for call in walk_pg(node):
            if not isinstance(call, ast.FuncCall):
                continue
            name = dotted(call.funcname).rpartition(".")[2]
            if name in _UNLOCKS:
                yield Violation(
                    st,
                    f"{name}() releases session advisory locks, and may release the deploy "
                    "lock: another deploy can start while this one runs",
                    "use pg_advisory_xact_lock(...), released when the transaction ends",
                )
                break


RULE = Rule(
    CODE,
    SEVERITY,
    ban_advisory_unlock,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
