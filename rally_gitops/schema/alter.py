"""In-place changes: the ALTER statements that turn one version of an object into the next, or
``None`` when PostgreSQL has no such ALTER and the plan must drop and recreate the object."""

from __future__ import annotations

from collections.abc import Callable

from rally_gitops.schema import model as m
from rally_gitops.schema.diff import FieldChange
from rally_gitops.schema.hazards import widening
from rally_gitops.schema.model import quote_ident as q
from rally_gitops.schema.sql import (
    comment_on,
    identity_options,
    literal,
    table_name,
    trigger_enabled,
)

Statements = list[str] | None


def alter(old: m.SchemaObject, new: m.SchemaObject, fields: tuple[FieldChange, ...]) -> Statements:
    """The statements changing ``old`` into ``new`` in place, or ``None`` to recreate."""
    changed = {f.field for f in fields} - {"owner", "acl", "position", "inherited"}
    out: list[str] = []
    if "comment" in changed:
        changed.discard("comment")
        out.append(comment_on(new, new.comment))
    if not changed:
        return out
    handler = _HANDLERS.get(type(new))
    more = handler(old, new, changed) if handler else None
    return None if more is None else more + out


def _extension(old: m.SchemaObject, new: m.SchemaObject, changed: set[str]) -> Statements:
    assert isinstance(new, m.Extension)
    out = []
    if "version" in changed:
        out.append(f"ALTER EXTENSION {new.shown} UPDATE TO {literal(new.version)}")
    if "schema" in changed:
        out.append(f"ALTER EXTENSION {new.shown} SET SCHEMA {q(new.schema)}")
    return out


def _enum(old: m.SchemaObject, new: m.SchemaObject, changed: set[str]) -> Statements:
    """New labels only, the old ones kept in order: ADD VALUE each, placed BEFORE/AFTER."""
    assert isinstance(old, m.Enum) and isinstance(new, m.Enum)
    kept = [label for label in new.labels if label in old.labels]
    if kept != list(old.labels):
        return None
    out = []
    for i, label in enumerate(new.labels):
        if label in old.labels:
            continue
        place = (
            f" AFTER {literal(new.labels[i - 1])}"
            if i > 0
            else f" BEFORE {literal(new.labels[1])}"
            if len(new.labels) > 1
            else ""
        )
        out.append(f"ALTER TYPE {new.shown} ADD VALUE {literal(label)}{place}")
    return out


def _domain(old: m.SchemaObject, new: m.SchemaObject, changed: set[str]) -> Statements:
    assert isinstance(old, m.Domain) and isinstance(new, m.Domain)
    if changed & {"type", "collation"}:
        return None
    head = f"ALTER DOMAIN {new.shown}"
    out = []
    if "default" in changed:
        out.append(
            f"{head} DROP DEFAULT" if new.default is None else f"{head} SET DEFAULT {new.default}"
        )
    if "not_null" in changed:
        out.append(f"{head} {'SET' if new.not_null else 'DROP'} NOT NULL")
    if "constraints" in changed:
        before, after = dict(old.constraints), dict(new.constraints)
        out += [f"{head} DROP CONSTRAINT {q(n)}" for n in before if after.get(n) != before[n]]
        out += [f"{head} ADD CONSTRAINT {q(n)} {d}" for n, d in after.items() if before.get(n) != d]
    return out


def _composite(old: m.SchemaObject, new: m.SchemaObject, changed: set[str]) -> Statements:
    """Attributes dropped, retyped and added at the end; recreated when the order would differ."""
    assert isinstance(old, m.Composite) and isinstance(new, m.Composite)
    before = {n: (t, c) for n, t, c in old.members}
    after = {n: (t, c) for n, t, c in new.members}
    kept = [n for n, _, _ in old.members if n in after]
    if kept + [n for n, _, _ in new.members if n not in before] != [n for n, _, _ in new.members]:
        return None
    head = f"ALTER TYPE {new.shown}"
    out = [f"{head} DROP ATTRIBUTE {q(n)}" for n in before if n not in after]
    for name in kept:
        if before[name] != after[name]:
            kind, collation = after[name]
            out.append(
                f"{head} ALTER ATTRIBUTE {q(name)} TYPE {kind}"
                + (f" COLLATE {collation}" if collation else "")
            )
    for name, kind, collation in new.members:
        if name not in before:
            out.append(
                f"{head} ADD ATTRIBUTE {q(name)} {kind}"
                + (f" COLLATE {collation}" if collation else "")
            )
    return out


def _sequence(old: m.SchemaObject, new: m.SchemaObject, changed: set[str]) -> Statements:
    assert isinstance(new, m.Sequence)
    words = {
        "data_type": f"AS {new.data_type}",
        "increment": f"INCREMENT BY {new.increment}",
        "minimum": f"MINVALUE {new.minimum}",
        "maximum": f"MAXVALUE {new.maximum}",
        "start": f"START WITH {new.start}",
        "cache": f"CACHE {new.cache}",
        "cycle": "CYCLE" if new.cycle else "NO CYCLE",
    }
    options = [text for name, text in words.items() if name in changed]
    out = [f"ALTER SEQUENCE {new.shown} {' '.join(options)}"] if options else []
    if "owned_by" in changed:
        out.append(f"ALTER SEQUENCE {new.shown} OWNED BY {new.owned_by or 'NONE'}")
    return out


def _table(old: m.SchemaObject, new: m.SchemaObject, changed: set[str]) -> Statements:
    assert isinstance(new, m.Table) and isinstance(old, m.Table)
    if changed & {"partitioned", "partition_key", "partition_of", "partition_bound", "inherits"}:
        return None
    head = f"ALTER TABLE {new.shown}"
    out = []
    if "unlogged" in changed:
        out.append(f"{head} SET {'UNLOGGED' if new.unlogged else 'LOGGED'}")
    if "options" in changed:
        gone = [o.partition("=")[0] for o in old.options if o not in new.options]
        out += [f"{head} RESET ({', '.join(gone)})"] if gone else []
        added = [o for o in new.options if o not in old.options]
        out += [f"{head} SET ({', '.join(added)})"] if added else []
    if "rls_enabled" in changed:
        out.append(f"{head} {'ENABLE' if new.rls_enabled else 'DISABLE'} ROW LEVEL SECURITY")
    if "rls_forced" in changed:
        out.append(f"{head} {'FORCE' if new.rls_forced else 'NO FORCE'} ROW LEVEL SECURITY")
    return out


def _column(old: m.SchemaObject, new: m.SchemaObject, changed: set[str]) -> Statements:
    assert isinstance(old, m.Column) and isinstance(new, m.Column)
    if changed & {"generated", "generated_expression"} and not (
        old.generated and not new.generated and changed <= {"generated", "generated_expression"}
    ):
        return None
    head = f"ALTER TABLE {table_name(new)} ALTER COLUMN {q(new.name)}"
    out = []
    if changed & {"generated", "generated_expression"}:
        return [f"{head} DROP EXPRESSION"]
    if old.identity and not new.identity:
        out.append(f"{head} DROP IDENTITY")
    retyped = bool(changed & {"type", "collation"})
    # an old default may not cast to the new type by itself: it goes first, and comes back
    reset = retyped and old.default is not None and not widening(old.type, new.type)
    if ("default" in changed and new.default is None) or reset:
        out.append(f"{head} DROP DEFAULT")
    if retyped:
        collate = f" COLLATE {new.collation}" if new.collation else ""
        # a widening needs no USING (and PostgreSQL then skips the rewrite where it can)
        using = "" if widening(old.type, new.type) else f" USING {q(new.name)}::{new.type}"
        out.append(f"{head} TYPE {new.type}{collate}{using}")
    if ("default" in changed or reset) and new.default is not None:
        out.append(f"{head} SET DEFAULT {new.default}")
    if "not_null" in changed:
        out.append(f"{head} {'SET' if new.not_null else 'DROP'} NOT NULL")
    if new.identity and "identity" in changed:
        word = "SET GENERATED" if old.identity else "ADD GENERATED"
        options = "" if old.identity else f" AS IDENTITY ({identity_options(new.identity_options)})"
        out.append(f"{head} {word} {new.identity.upper()}{options}")
    elif new.identity and "identity_options" in changed and new.identity_options:
        words = new.identity_options.split()
        pairs = [" ".join(words[i : i + 2]) for i in range(2, len(words) - 1, 2)]
        pairs += ["CYCLE"] if words[-1] == "CYCLE" else ["NO CYCLE"]
        out.append(f"{head} " + " ".join(f"SET {p}" for p in pairs))
    return out


def _constraint(old: m.SchemaObject, new: m.SchemaObject, changed: set[str]) -> Statements:
    assert isinstance(old, m.Constraint) and isinstance(new, m.Constraint)
    if changed == {"validated", "definition"} and new.validated:
        if old.definition.removesuffix(" NOT VALID") == new.definition:
            return [f"ALTER TABLE {table_name(new)} VALIDATE CONSTRAINT {q(new.name)}"]
    return None


def _view(old: m.SchemaObject, new: m.SchemaObject, changed: set[str]) -> Statements:
    assert isinstance(old, m.View) and isinstance(new, m.View)
    if changed != {"options"}:
        return None
    word = "MATERIALIZED VIEW" if new.materialized else "VIEW"
    head = f"ALTER {word} {new.shown}"
    gone = [o.partition("=")[0] for o in old.options if o not in new.options]
    out = [f"{head} RESET ({', '.join(gone)})"] if gone else []
    added = [o for o in new.options if o not in old.options]
    return out + ([f"{head} SET ({', '.join(added)})"] if added else [])


def _function(old: m.SchemaObject, new: m.SchemaObject, changed: set[str]) -> Statements:
    """CREATE OR REPLACE keeps the signature: not for a new result type or kind."""
    if changed & {"result", "procedure"}:
        return None
    assert isinstance(new, m.Function)
    return [new.definition.rstrip()]


def _trigger(old: m.SchemaObject, new: m.SchemaObject, changed: set[str]) -> Statements:
    assert isinstance(new, m.Trigger)
    if changed != {"enabled"}:
        return None
    return [trigger_enabled(new)]


def _policy(old: m.SchemaObject, new: m.SchemaObject, changed: set[str]) -> Statements:
    assert isinstance(new, m.Policy)
    if changed & {"command", "permissive"}:
        return None
    head = f"ALTER POLICY {q(new.name)} ON {table_name(new)}"
    out = []
    if "roles" in changed:
        out.append(f"{head} TO {', '.join(r if r == 'public' else q(r) for r in new.roles)}")
    if "using" in changed:
        if new.using is None:
            return None
        out.append(f"{head} USING ({new.using})")
    if "check" in changed:
        if new.check is None:
            return None
        out.append(f"{head} WITH CHECK ({new.check})")
    return out


Handler = Callable[[m.SchemaObject, m.SchemaObject, set[str]], Statements]
_HANDLERS: dict[type, Handler] = {
    m.Extension: _extension,
    m.Enum: _enum,
    m.Domain: _domain,
    m.Composite: _composite,
    m.Sequence: _sequence,
    m.Table: _table,
    m.Column: _column,
    m.Constraint: _constraint,
    m.View: _view,
    m.Function: _function,
    m.Trigger: _trigger,
    m.Policy: _policy,
}
