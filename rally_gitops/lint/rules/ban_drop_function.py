"""ban-drop-function: DROP FUNCTION / PROCEDURE / ROUTINE that the file does not recreate."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from rally_gitops.lint.analysis import dotted
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

CODE = "ban-drop-function"
SEVERITY: Severity = "warning"
ENABLED = True
SUMMARY = "DROP FUNCTION / PROCEDURE that is not recreated in the same migration"
WHY = (
    "Clients, triggers, defaults and other functions that call a dropped function fail at their "
    "next call (CASCADE silently drops the triggers and defaults that use it). Dropping and "
    "recreating a function in one transactional migration, to change its signature or return "
    "type, is atomic and not flagged; nor is a function created earlier in the same file."
)
SAFE_ALTERNATIVE = (
    "Use CREATE OR REPLACE FUNCTION where the signature allows; otherwise create the new "
    "function, move callers to it, and drop the old one in a later release."
)
EXAMPLE_BAD = "DROP FUNCTION touch_updated_at();"
EXAMPLE_OK = (
    "DROP FUNCTION touch_updated_at();\n"
    "CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql\n"
    "AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;"
)


def ban_drop_function(ctx: FileContext) -> Iterator[Violation]:
    """Warn on DROP FUNCTION/PROCEDURE/ROUTINE unless the file creates it before or after."""
    for st in ctx.statements:
        drop = dropped(st)
        if drop is None or drop.kind not in ("function", "procedure", "routine"):
            continue
        later = ctx.statements[st.index + 1 :] if st.in_transaction else []
        known = _functions(ctx, ctx.statements[: st.index]) | _functions(ctx, later)
        names = [n for n in drop.names if key(ctx, st, n) not in known]
        if names:
            yield Violation(
                st,
                f"DROP {drop.kind.upper()} {', '.join(names)} breaks the clients, triggers and "
                "functions that still call it",
                "use CREATE OR REPLACE, or move callers to a new function and drop the old later",
            )


def _functions(ctx: FileContext, statements: list[AnalysedStatement]) -> set[tuple[str, str]]:
    """(schema, name) of the functions the statements create."""
    names = set()
    for st in statements:
        if isinstance(st.pg, ast.CreateFunctionStmt):
            names.add(key(ctx, st, dotted(st.pg.funcname)))
    return names


RULE = Rule(
    CODE,
    SEVERITY,
    ban_drop_function,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
