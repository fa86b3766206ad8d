"""setting-not-null: ALTER COLUMN ... SET NOT NULL on an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from pglast.enums import AlterTableType

from rally_gitops.lint import schema_history
from rally_gitops.lint.analysis import existing_table_commands
from rally_gitops.lint.model import (
    AnalysedStatement,
    FileContext,
    Rule,
    RuleDocs,
    Severity,
    Violation,
)
from rally_gitops.lint.names import key, quote

CODE = "setting-not-null"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "SET NOT NULL on a column of an existing table"
WHY = (
    "SET NOT NULL scans the whole table to prove there is no NULL while holding an ACCESS "
    "EXCLUSIVE lock: every read and write of the table waits. From PostgreSQL 12 the scan is "
    "skipped when a validated CHECK (column IS NOT NULL) constraint already proves it, so the "
    "rule stays quiet when such a constraint was added (in an earlier migration of the same "
    "directory or earlier in this file) and validated."
)
SAFE_ALTERNATIVE = (
    "Migration 1: ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID. Migration 2: VALIDATE "
    "CONSTRAINT c; ALTER COLUMN col SET NOT NULL; DROP CONSTRAINT c (PostgreSQL 12+)."
)
EXAMPLE_BAD = "ALTER TABLE users ALTER COLUMN email SET NOT NULL;"
# the earlier migration the OK example builds on (docs and tests write it first)
EXAMPLE_HISTORY = (
    "ALTER TABLE users ADD CONSTRAINT users_email_not_null\n"
    "    CHECK (email IS NOT NULL) NOT VALID;"
)
EXAMPLE_OK = (
    "ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;\n"
    "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n"
    "ALTER TABLE users DROP CONSTRAINT users_email_not_null;"
)


def setting_not_null(ctx: FileContext) -> Iterator[Violation]:
    """Flag SET NOT NULL on an existing table unless a validated NOT NULL check covers it."""
    for st, table, cmd in existing_table_commands(ctx):
        if cmd.subtype != AlterTableType.AT_SetNotNull:
            continue
        if ctx.pg_version >= 12 and _proven(ctx, st, table, cmd.name or ""):
            continue
        yield Violation(
            st,
            f"SET NOT NULL on {table}.{quote(cmd.name)} blocks reads and writes of {table} "
            "while the "
            "whole table is scanned",
            "add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in a later migration, then SET "
            "NOT NULL (PostgreSQL 12+ skips the scan)",
        )


def _proven(ctx: FileContext, st: AnalysedStatement, table: str, column: str) -> bool:
    """A validated CHECK (column IS NOT NULL) on the table, from the earlier migrations of the
    directory or earlier in this file: added without NOT VALID, or added NOT VALID and later
    validated. Names are exact: ``"userId"`` is not ``userid``."""
    known = schema_history.before(ctx, st).table(key(ctx, st, table))
    if known is None:
        return False
    return any(c.not_null_of == column and c.validated for c in known.constraints.values())


RULE = Rule(
    CODE,
    SEVERITY,
    setting_not_null,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK, example_history=EXAMPLE_HISTORY),
    enabled=ENABLED,
)
