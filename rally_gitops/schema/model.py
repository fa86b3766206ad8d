"""The schema model: one frozen record per object kind, keyed by identity.

Every record has ``kind``, ``schema`` and ``name``; table-scoped kinds (columns, constraints,
triggers, policies) add ``table``, functions add ``arguments`` (their identity signature). Names are
kept exactly as the catalog stores them (quoted identifiers keep their case); ``shown`` quotes them
the way PostgreSQL would need. Every other field is compared by the diff, except ``owner`` and
``acl`` (privileges), compared only when asked, and the fields in ``DERIVED`` (canonical texts that
repeat the other fields), reported only when nothing else explains a difference.
"""

from __future__ import annotations

import dataclasses
import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rally_gitops.schema import keywords

_PLAIN = re.compile(r"^[a-z_][a-z0-9_$]*$")
ACCESS_FIELDS = ("owner", "acl")


_QUOTED_KEYWORDS = keywords.RESERVED | keywords.TYPE_FUNC_NAME


def quote_ident(name: str) -> str:
    """``name`` as PostgreSQL's ``quote_ident`` shows it: bare when it can be, else in quotes."""
    if _PLAIN.match(name) and name.upper() not in _QUOTED_KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class SchemaObject:
    """What every record shares: where it lives, its comment, owner and privileges."""

    KIND: ClassVar[str] = ""
    IDENTITY: ClassVar[tuple[str, ...]] = ("schema", "name")
    DERIVED: ClassVar[tuple[str, ...]] = ()

    schema: str
    name: str
    comment: str | None = field(default=None, kw_only=True)
    owner: str | None = field(default=None, kw_only=True)
    acl: tuple[str, ...] = field(default=(), kw_only=True)

    @property
    def kind(self) -> str:
        return self.KIND

    @property
    def key(self) -> tuple[str, ...]:
        """The identity: kind, then the ``IDENTITY`` fields."""
        return (self.KIND, *(str(getattr(self, f)) for f in self.IDENTITY))

    @property
    def shown(self) -> str:
        """The qualified name as SQL would write it: ``public."Users"``, ``s.f(integer)``."""
        return f"{quote_ident(self.schema)}.{quote_ident(self.name)}"

    @property
    def parent(self) -> tuple[str, ...] | None:
        """The key of the table (or view) this object belongs to, if any."""
        return None

    def attributes(self) -> dict[str, Any]:
        """Every compared field (not the identity) and its value."""
        return {name: getattr(self, name) for name in _compared(type(self))}


_COMPARED: dict[type, tuple[str, ...]] = {}


def _compared(kind: type[SchemaObject]) -> tuple[str, ...]:
    """The names of the fields of ``kind`` that are not its identity (computed once per kind)."""
    names = _COMPARED.get(kind)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(kind) if f.name not in kind.IDENTITY)
        _COMPARED[kind] = names
    return names


@dataclass(frozen=True)
class TableScoped(SchemaObject):
    """An object that belongs to one table: identity (schema, table, name)."""

    IDENTITY: ClassVar[tuple[str, ...]] = ("schema", "table", "name")
    table: str = ""

    @property
    def shown(self) -> str:
        return ".".join(quote_ident(p) for p in (self.schema, self.table, self.name))

    @property
    def parent(self) -> tuple[str, ...] | None:
        return ("table", self.schema, self.table)


@dataclass(frozen=True)
class Schema(SchemaObject):
    KIND: ClassVar[str] = "schema"
    IDENTITY: ClassVar[tuple[str, ...]] = ("name",)

    @property
    def shown(self) -> str:
        return quote_ident(self.name)


@dataclass(frozen=True)
class Extension(SchemaObject):
    """An extension (database-wide name), its schema and version; its members are not listed."""

    KIND: ClassVar[str] = "extension"
    IDENTITY: ClassVar[tuple[str, ...]] = ("name",)
    version: str = ""

    @property
    def shown(self) -> str:
        return quote_ident(self.name)


@dataclass(frozen=True)
class Table(SchemaObject):
    """A table: ``partitioned`` with its key, a partition with its parent and bound, inheritance."""

    KIND: ClassVar[str] = "table"
    partitioned: bool = False
    partition_key: str | None = None
    partition_of: str | None = None
    partition_bound: str | None = None
    inherits: tuple[str, ...] = ()
    unlogged: bool = False
    options: tuple[str, ...] = ()
    rls_enabled: bool = False
    rls_forced: bool = False


@dataclass(frozen=True)
class Column(TableScoped):
    """A column of a table; ``identity`` is ``always``/``by default``, ``generated`` ``stored``."""

    KIND: ClassVar[str] = "column"
    position: int = 0
    type: str = ""
    collation: str | None = None
    default: str | None = None
    not_null: bool = False
    identity: str | None = None
    identity_options: str | None = None
    generated: str | None = None
    generated_expression: str | None = None
    inherited: bool = False  # from a parent table only (a partition's columns), not declared


@dataclass(frozen=True)
class Constraint(TableScoped):
    """A table constraint; ``definition`` is pg_get_constraintdef (type, keys, actions, match,
    deferrability, NOT VALID); ``references`` the referenced table of a foreign key."""

    KIND: ClassVar[str] = "constraint"
    type: str = ""  # primary key, unique, foreign key, check, exclusion
    definition: str = ""
    columns: tuple[str, ...] = ()
    references: tuple[str, str] | None = None  # (schema, table) of a foreign key's target
    referenced_columns: tuple[str, ...] = ()
    deferrable: bool = False
    deferred: bool = False
    validated: bool = True
    inherited: bool = False  # cloned from the parent table's (a partition's copy)


@dataclass(frozen=True)
class Index(SchemaObject):
    """An index (its name is schema-wide); ``definition`` is pg_get_indexdef."""

    KIND: ClassVar[str] = "index"
    DERIVED: ClassVar[tuple[str, ...]] = ("definition",)
    table: str = ""
    method: str = ""
    unique: bool = False
    predicate: str | None = None
    include: tuple[str, ...] = ()
    constraint: str | None = None
    definition: str = ""
    inherited: bool = False  # a partition's copy of its parent's index

    @property
    def parent(self) -> tuple[str, ...] | None:
        return ("table", self.schema, self.table)


@dataclass(frozen=True)
class Sequence(SchemaObject):
    """A sequence with every option; ``owned_by`` is ``schema.table.column``."""

    KIND: ClassVar[str] = "sequence"
    data_type: str = "bigint"
    start: int = 1
    increment: int = 1
    minimum: int = 1
    maximum: int = 0
    cache: int = 1
    cycle: bool = False
    owned_by: str | None = None


@dataclass(frozen=True)
class View(SchemaObject):
    """A view or materialized view; ``definition`` is pg_get_viewdef, ``options`` its reloptions."""

    KIND: ClassVar[str] = "view"
    materialized: bool = False
    definition: str = ""
    options: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return "materialized view" if self.materialized else "view"


@dataclass(frozen=True)
class Function(SchemaObject):
    """A function or procedure, identified by its argument types; ``definition`` is
    pg_get_functiondef (it repeats the other fields: reported only if they are all equal)."""

    KIND: ClassVar[str] = "function"
    IDENTITY: ClassVar[tuple[str, ...]] = ("schema", "name", "arguments")
    DERIVED: ClassVar[tuple[str, ...]] = ("definition",)
    arguments: str = ""
    procedure: bool = False
    result: str | None = None
    language: str = ""
    volatility: str = "volatile"
    strict: bool = False
    security_definer: bool = False
    leakproof: bool = False
    parallel: str = "unsafe"
    config: tuple[str, ...] = ()
    body: str = ""
    definition: str = ""

    @property
    def kind(self) -> str:
        return "procedure" if self.procedure else "function"

    @property
    def shown(self) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(self.name)}({self.arguments})"


@dataclass(frozen=True)
class Trigger(TableScoped):
    """A trigger: pg_get_triggerdef and whether it fires (``enabled``: origin, disabled,
    replica, always)."""

    KIND: ClassVar[str] = "trigger"
    definition: str = ""
    enabled: str = "origin"
    inherited: bool = False  # a partition's clone of its parent's trigger


@dataclass(frozen=True)
class Policy(TableScoped):
    """A row-level security policy."""

    KIND: ClassVar[str] = "policy"
    command: str = "all"
    permissive: bool = True
    roles: tuple[str, ...] = ()
    using: str | None = None
    check: str | None = None


@dataclass(frozen=True)
class Enum(SchemaObject):
    """An enum type with its labels in sort order."""

    KIND: ClassVar[str] = "enum"
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Domain(SchemaObject):
    """A domain: base type, collation, default, NOT NULL and its named CHECK constraints."""

    KIND: ClassVar[str] = "domain"
    type: str = ""
    collation: str | None = None
    default: str | None = None
    not_null: bool = False
    constraints: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Composite(SchemaObject):
    """A composite type: its attributes as (name, type, collation)."""

    KIND: ClassVar[str] = "composite type"
    members: tuple[tuple[str, str, str | None], ...] = ()


# report order: the order a reader (and ``generate``) meets the kinds in
KINDS: tuple[type[SchemaObject], ...] = (
    Schema,
    Extension,
    Enum,
    Domain,
    Composite,
    Sequence,
    Table,
    Column,
    Constraint,
    Index,
    View,
    Function,
    Trigger,
    Policy,
)
KIND_NAMES = tuple(k.KIND for k in KINDS)
KIND_RANK = {name: i for i, name in enumerate(KIND_NAMES)}


def key_order(key: tuple[str, ...]) -> tuple[int, tuple[str, ...]]:
    """The order of a model's objects: by kind (``KINDS``' order), then by identity."""
    return (KIND_RANK[key[0]], key[1:])


@dataclass(frozen=True)
class Model:
    """A whole schema: every object by its key."""

    objects: dict[tuple[str, ...], SchemaObject]
    server_version: int = 0

    def __iter__(self) -> Iterator[SchemaObject]:
        return iter(self.objects.values())

    def __len__(self) -> int:
        return len(self.objects)

    def of(self, kind: type[SchemaObject]) -> list[SchemaObject]:
        """Every object of one kind, in key order."""
        return sorted((o for o in self if isinstance(o, kind)), key=lambda o: o.key)


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block: models are trees of records without
    cycles, so the collector finds nothing in them, but building two models of a few thousand
    objects triggers a hundred collections, a tenth of a whole ``compare``'s CPU."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
