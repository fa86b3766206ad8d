"""Types a file creates, renames and drops among themselves: not a client-facing change.

Prisma changes an enum by building a new one and swapping the names::

    CREATE TYPE "Role_new" AS ENUM ('USER', 'ADMIN');
    ALTER TABLE "User" ALTER COLUMN "role" TYPE "Role_new" USING ("role"::text::"Role_new");
    ALTER TYPE "Role" RENAME TO "Role_old";
    ALTER TYPE "Role_new" RENAME TO "Role";
    DROP TYPE "Role_old";

Clients still find a type named ``"Role"``; only the file itself ever saw ``"Role_new"`` and
``"Role_old"``. So renaming or dropping a type created earlier in the same file, renaming an
existing type whose name the file then gives to another type, and dropping the name such a
type was renamed away to, are internal; ``renaming-object`` and ``ban-drop-type`` skip them.
"""

from __future__ import annotations

from typing import Any

from pglast import ast
from pglast.enums import ObjectType

from rally_gitops.lint.analysis import dotted
from rally_gitops.lint.model import FileContext
from rally_gitops.lint.names import key, shown

_TYPE_OBJECTS = (ObjectType.OBJECT_TYPE, ObjectType.OBJECT_DOMAIN)


def internal(ctx: FileContext) -> set[tuple[int, tuple[str, str]]]:
    """(statement index, type key) of every type rename or drop that stays inside the file.

    A rename is recorded under its old name, a drop under the dropped name. Built once per file.
    """
    cached: set[tuple[int, tuple[str, str]]] | None = ctx.cache.get("internal_types")
    if cached is not None:
        return cached
    # (index, old key or None, new key or None): create, rename, drop
    events: list[tuple[int, tuple[str, str] | None, tuple[str, str] | None]] = []
    for st in ctx.statements:
        node = st.pg
        created = _created(node)
        if created:
            events.append((st.index, None, key(ctx, st, created)))
        elif isinstance(node, ast.RenameStmt) and node.renameType in _TYPE_OBJECTS:
            renamed = key(ctx, st, dotted(node.object))
            events.append((st.index, renamed, (renamed[0], node.newname or "")))
        elif isinstance(node, ast.DropStmt) and node.removeType in _TYPE_OBJECTS:
            for obj in node.objects or ():
                events.append((st.index, key(ctx, st, dotted(obj.names)), None))
    found: set[tuple[int, tuple[str, str]]] = set()
    new: set[tuple[str, str]] = set()  # types only this file has seen, by their current name
    for position, (index, old, target) in enumerate(events):
        if old is None and target is not None:
            new.add(target)
        elif old is not None and target is not None:  # rename
            later = any(t == old for _, _, t in events[position + 1 :])
            if old in new or later:
                found.add((index, old))
                new.discard(old)
                new.add(target)  # either file-made, or the renamed-away original
        elif old is not None and old in new:  # drop
            found.add((index, old))
            new.discard(old)
    ctx.cache["internal_types"] = found
    return found


def _created(node: Any) -> str:
    """The shown name of the type a CREATE TYPE / CREATE DOMAIN statement creates, else ''."""
    if isinstance(node, ast.CreateEnumStmt):
        return dotted(node.typeName)
    if isinstance(node, ast.CreateDomainStmt):
        return dotted(node.domainname)
    if isinstance(node, ast.CompositeTypeStmt) and node.typevar is not None:
        return shown((node.typevar.schemaname, node.typevar.relname))
    if isinstance(node, ast.CreateRangeStmt):
        return dotted(node.typeName)
    if isinstance(node, ast.DefineStmt) and node.kind == ObjectType.OBJECT_TYPE:
        return dotted(node.defnames)
    return ""
