"""ban-drop-constraint: DROP CONSTRAINT on an existing table; an error for a primary key or
with CASCADE."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pglast.enums import AlterTableType, DropBehavior

from rally_gitops.lint import catalog, schema_history
from rally_gitops.lint.analysis import added_constraint, alter_table, existing_table_commands
from rally_gitops.lint.model import (
    AnalysedStatement,
    FileContext,
    Rule,
    RuleDocs,
    Severity,
    Violation,
)
from rally_gitops.lint.names import key, quote

CODE = "ban-drop-constraint"
SEVERITY: Severity = "warning"
ENABLED = True
SUMMARY = "DROP CONSTRAINT on an existing table (an error for a primary key or with CASCADE)"
WHY = (
    "Dropping a CHECK, UNIQUE or FOREIGN KEY silently changes what the database guarantees: "
    "bad data can arrive at once, and application code, reports and ON CONFLICT clauses may "
    "rely on it. Dropping a PRIMARY KEY, or any constraint WITH CASCADE (which also drops the "
    "foreign keys of other tables that depend on it), is destructive and an error; the message "
    "names what CASCADE takes along when the earlier migrations tell. Exempt: constraints added "
    "earlier in the same file, and a CHECK (col IS NOT NULL) dropped after SET NOT NULL on "
    "its column (the NOT NULL keeps the guarantee)."
)
SAFE_ALTERNATIVE = (
    "Make sure no reader relies on the constraint; drop the dependent foreign keys explicitly "
    "instead of CASCADE; drop a UNIQUE or PRIMARY KEY's index concurrently afterwards if it is "
    "no longer needed."
)
EXAMPLE_BAD = "ALTER TABLE users DROP CONSTRAINT users_email_check;"
EXAMPLE_OK = (
    "ALTER TABLE users ADD CONSTRAINT tmp_check CHECK (id > 0) NOT VALID;\n"
    "ALTER TABLE users DROP CONSTRAINT tmp_check;"
)


def ban_drop_constraint(ctx: FileContext) -> Iterator[Violation]:
    """Warn on DROP CONSTRAINT of a constraint this file did not add; error for a primary key
    or CASCADE."""
    # where each constraint was added and each SET NOT NULL done: (statement, subcommand)
    added: dict[tuple[Any, str], tuple[int, int]] = {}
    not_null = set()
    for st in ctx.statements:
        found = alter_table(st)
        if found is None:
            continue
        altered = key(ctx, st, found[0])
        for index, cmd in enumerate(found[1]):
            constraint = added_constraint(cmd)
            if constraint is not None and constraint.conname:
                added.setdefault((altered, constraint.conname), (st.index, index))
            if cmd.subtype == AlterTableType.AT_SetNotNull:
                not_null.add((altered, cmd.name, st.index))
    for st, table, cmd in existing_table_commands(ctx):
        if cmd.subtype != AlterTableType.AT_DropConstraint:
            continue
        where = key(ctx, st, table)
        commands = alter_table(st)
        assert commands is not None  # existing_table_commands yields ALTER TABLE subcommands
        position = (st.index, commands[1].index(cmd))
        if added.get((where, cmd.name), position) < position:
            continue  # added earlier in this file (a drop and re-add in one ALTER is no help)
        known = schema_history.before(ctx, st).table(where)
        constraint = known.constraints.get(cmd.name) if known is not None else None
        column = constraint.not_null_of if constraint is not None else None
        if column and any(t == where and c == column and i < st.index for t, c, i in not_null):
            continue
        yield _violation(ctx, st, table, cmd, constraint)


def _violation(
    ctx: FileContext, st: AnalysedStatement, table: str, cmd: Any, constraint: Any
) -> Violation:
    name = quote(cmd.name)
    cascade = cmd.behavior == DropBehavior.DROP_CASCADE
    if constraint is not None:
        primary = constraint.kind == "primary key"
        what = f"{constraint.kind} {name}"
    else:
        primary = (cmd.name or "").endswith("_pkey")  # PostgreSQL's (and Prisma's) own naming
        what = ("primary key " if primary else "constraint ") + name
    if not (primary or cascade):
        return Violation(
            st,
            f"dropping {what} from {table} removes a guarantee readers may rely on",
            "make sure nothing relies on the constraint before dropping it",
        )
    message = f"dropping {what} from {table}" + (" with CASCADE" if cascade else "")
    message += " is destructive: " + (
        "rows may be duplicated and foreign keys lose their target"
        if primary
        else "it removes a guarantee"
    )
    if cascade:
        taken = [
            f"{catalog.shown_key(other)}.{quote(fk)}"
            for other, fk in schema_history.before(ctx, st).referencing(key(ctx, st, table))
        ]
        message += (
            f"; CASCADE also drops {', '.join(taken)}"
            if taken
            else "; CASCADE also drops every foreign key of other tables that depends on it"
        )
    return Violation(
        st,
        message,
        "drop dependent foreign keys explicitly, and keep a primary key (replace it with a new "
        "one built from a unique index: ADD PRIMARY KEY USING INDEX)",
        severity="error",
    )


RULE = Rule(
    CODE,
    SEVERITY,
    ban_drop_constraint,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
