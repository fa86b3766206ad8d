"""ban-drop-constraint: DROP CONSTRAINT on an existing table (opt-in)."""

from __future__ import annotations

from collections.abc import Iterator

from pglast.enums import AlterTableType

from rally_gitops.lint.analysis import added_constraint, alter_table, existing_table_commands
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "ban-drop-constraint"
SEVERITY: Severity = "warning"
ENABLED = False
SUMMARY = "DROP CONSTRAINT on an existing table (opt-in)"
WHY = (
    "Dropping a CHECK, UNIQUE, FOREIGN KEY or PRIMARY KEY removes a guarantee that application "
    "code, reports and ON CONFLICT clauses may rely on, and bad data can arrive at once. It is "
    "off by default because dropping a helper constraint is part of safe patterns (the CHECK "
    "(col IS NOT NULL) used for SET NOT NULL); constraints added earlier in the same file are "
    "exempt."
)
SAFE_ALTERNATIVE = (
    "Make sure no reader relies on the constraint; drop a UNIQUE or PRIMARY KEY's index "
    "concurrently afterwards if it is no longer needed."
)
EXAMPLE_BAD = "ALTER TABLE users DROP CONSTRAINT users_email_check;"
EXAMPLE_OK = (
    "ALTER TABLE users ADD CONSTRAINT tmp_check CHECK (id > 0) NOT VALID;\n"
    "ALTER TABLE users DROP CONSTRAINT tmp_check;"
)


def ban_drop_constraint(ctx: FileContext) -> Iterator[Violation]:
    """Warn on DROP CONSTRAINT of a constraint this file did not add."""
    added = set()
    for st in ctx.statements:
        found = alter_table(st)
        if found is None:
            continue
        table, commands = found
        for cmd in commands:
            constraint = added_constraint(cmd)
            if constraint is not None and constraint.conname:
                added.add((table, constraint.conname.lower()))
    for st, table, cmd in existing_table_commands(ctx):
        if cmd.subtype != AlterTableType.AT_DropConstraint:
            continue
        if (table, (cmd.name or "").lower()) in added:
            continue
        yield Violation(
            st,
            f"dropping constraint {cmd.name} from {table} removes a guarantee readers may rely on",
            "make sure nothing relies on the constraint before dropping it",
        )


RULE = Rule(
    CODE,
    SEVERITY,
    ban_drop_constraint,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
