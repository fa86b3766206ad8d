"""The SQL that turns one model into another: one step per create, drop or in-place alter,
ordered by the dependency graph (adding early, dropping late), hazards named.

What PostgreSQL does by itself is no step of its own: a new table's columns are in its CREATE
TABLE, the index of a key constraint comes with it, the children of a dropped table go with it,
a partition's copies of its parent's keys, indexes and triggers come with the partition.
Objects that depend on something recreated (or on a column whose type changes) are dropped
before it and created again after.
"""

from __future__ import annotations

from rally_gitops.schema import edges, hazards, rebuild, sql
from rally_gitops.schema import model as m
from rally_gitops.schema.alter import alter
from rally_gitops.schema.diff import ADDED, DROPPED, Diff
from rally_gitops.schema.graph import Key, dependencies, mentions, names
from rally_gitops.schema.steps import ALTER, CREATE, DROP, OWN, Plan, Step


def plan(source: m.Model, target: m.Model, result: Diff, prelude: tuple[str, ...] = ()) -> Plan:
    """The steps that turn ``source`` into ``target`` (``result`` is their diff), after the
    ``prelude`` statements (renames already applied to ``source``)."""
    if not result:  # nothing to do: spare working out (and scanning) every object's needs
        return Plan((), prelude)
    built = _Builder(source, target, result).build()
    return Plan(built.steps, prelude)


class _Builder:
    def __init__(self, source: m.Model, target: m.Model, result: Diff) -> None:
        self.source, self.target, self.result = source, target, result
        self.hard_s, _ = dependencies(source)
        self.hard_t, self.soft_t = dependencies(target)
        self.steps: dict[Key, Step] = {}
        # a table's columns, looked up once per table created (not a scan of the model each)
        self.columns: dict[Key | None, list[m.Column]] = {}
        for obj in target:
            if isinstance(obj, m.Column):
                self.columns.setdefault(obj.parent, []).append(obj)
        self.alias: dict[Key, Key | None] = {}
        self.retypes: dict[
            Key, set[Key]
        ] = {}  # an alter step → the tables whose columns it retypes

    def build(self) -> Plan:
        recreate: set[Key] = set()
        retyped: set[Key] = set()  # tables with a column changing type, and those columns
        rebuilt: set[Key] = set()  # enums and domains made anew beside the old type
        for change in self.result.changes:
            if change.action == ADDED:
                self._create(change.obj)
            elif change.action == DROPPED:
                self._drop(change.obj)
            else:
                old, new = change.source, change.target
                assert old is not None and new is not None
                statements = alter(old, new, change.fields)
                tables: set[Key] = set()
                if isinstance(new, (m.Enum, m.Domain)) and statements is None:
                    statements = rebuild.rebuild_type(old, new, self.target, tables)
                    retyped |= tables
                    rebuilt.add(new.key)
                if isinstance(new, m.Composite) and any(
                    f.field == "members" for f in change.fields
                ):
                    rebuilt_statements = rebuild.rebuild_composite(old, new, self.target, tables)
                    if rebuilt_statements is not None:
                        statements = rebuilt_statements
                        retyped |= tables
                        rebuilt.add(new.key)
                if statements is None:
                    recreate.add(new.key)
                    continue
                step = self._add(ALTER, new, statements)
                self.retypes[step.id] = tables
                if isinstance(old, m.Enum) and isinstance(new, m.Enum):
                    step.hazard = hazards.enum_values(old, new)
                if isinstance(old, m.Domain) and isinstance(new, m.Domain) and tables:
                    step.hazard = hazards.domain_retyped(old, new)
                if isinstance(old, m.Composite) and isinstance(new, m.Composite) and tables:
                    step.hazard = hazards.attributes(old, new)
                if isinstance(new, m.Column) and {"type", "collation"} & {
                    f.field for f in change.fields
                }:
                    assert isinstance(old, m.Column)
                    retyped |= {("table", new.schema, new.table), new.key}
                    tables |= {("table", new.schema, new.table), new.key}
                    step.hazard = hazards.retyped(old, new)
                if isinstance(new, m.Sequence) and new.owned_by:
                    step.after |= self._owner(new)
        self._cascade(recreate, retyped, rebuilt)
        for key in sorted(recreate):
            self.steps.pop((ALTER, *key), None)
            self._drop(self.source.objects[key], recreated=True)
            self._create(self.target.objects[key])
            created = self.steps.get((CREATE, *key))  # None: made by its constraint's step
            if created is not None:
                created.after.add((DROP, *key))
        rebuild.defaults_around(
            self.source, self.target, (self.hard_s, self.hard_t), recreate, self.steps, self._is_new
        )
        needs = edges.Needs(self.hard_s, self.hard_t, self.soft_t)
        return Plan(tuple(edges.ordered(self.steps, self.alias, needs, self.retypes)))

    def _add(self, action: str, obj: m.SchemaObject, statements: list[str]) -> Step:
        step = Step(action, obj, statements)
        self.steps[step.id] = step
        return step

    def _create(self, obj: m.SchemaObject) -> None:
        key = obj.key
        if isinstance(obj, m.Column) or getattr(obj, "inherited", False):
            table = ("table", obj.schema, getattr(obj, "table", ""))
            if isinstance(obj, m.Column) and self._is_new(table):
                self.alias[(CREATE, *key)] = (CREATE, *table)
                return
            if getattr(obj, "inherited", False):
                self.alias[(CREATE, *key)] = None
                return
        if isinstance(obj, m.Index) and obj.constraint:
            self.alias[(CREATE, *key)] = (
                CREATE,
                "constraint",
                obj.schema,
                obj.table,
                obj.constraint,
            )
            return
        columns = sorted(self.columns.get(key, ()), key=lambda c: c.position)
        statements = sql.create(obj, columns)
        self._add(CREATE, obj, statements)
        if isinstance(obj, m.Sequence) and obj.owned_by:
            own = self._add(OWN, obj, [f"ALTER SEQUENCE {obj.shown} OWNED BY {obj.owned_by}"])
            own.after |= {(CREATE, *key), *self._owner(obj)}

    def _owner(self, seq: m.Sequence) -> set[Key]:
        chain = next(names(seq.owned_by or ""), ())
        column = ("column", *chain)
        return {(CREATE, *column), (ALTER, *column)}

    def _is_new(self, table: Key) -> bool:
        return table not in self.source.objects or (DROP, *table) in self.steps

    def _drop(self, obj: m.SchemaObject, recreated: bool = False) -> None:
        key = obj.key
        parent = obj.parent
        if parent is not None and parent not in self.target.objects:
            parent = ("view", *parent[1:]) if parent not in self.source.objects else parent
        # a foreign key to another table goes first, by itself: that breaks cycles of them
        outward = (
            isinstance(obj, m.Constraint)
            and obj.references is not None
            and (parent is None or obj.references != parent[1:])
        )
        if (
            parent is not None
            and not outward
            and (parent not in self.target.objects or (DROP, *parent) in self.steps)
        ):
            self.alias[(DROP, *key)] = (DROP, *parent)
            return
        if getattr(obj, "inherited", False):
            self.alias[(DROP, *key)] = None
            return
        if isinstance(obj, m.Index) and obj.constraint:
            self.alias[(DROP, *key)] = (DROP, "constraint", obj.schema, obj.table, obj.constraint)
            return
        if isinstance(obj, m.Sequence) and obj.owned_by:
            chain = next(names(obj.owned_by), ())
            column = ("column", *chain)
            if column not in self.target.objects:
                self.alias[(DROP, *key)] = (DROP, *column)
                return
        step = self._add(DROP, obj, sql.drop(obj))
        step.hazard = None if recreated and not isinstance(obj, m.Table) else hazards.dropped(obj)
        if recreated and isinstance(obj, m.Table):
            step.hazard = f"data loss: recreates table {obj.shown}: its rows are lost"

    def _cascade(self, recreate: set[Key], retyped: set[Key], rebuilt: set[Key]) -> None:
        """Add to ``recreate`` what depends (in the source) on something recreated or rebuilt
        (a function taking an enum), or stands on a column changing type (``_on_retype``);
        until nothing more is added."""
        while True:
            forced = recreate | rebuilt
            more = set()
            for key, needs in self.hard_s.items():
                if key in recreate or key not in self.target.objects:
                    continue
                obj = self.source.objects[key]
                hit = needs & forced
                # a recreated column forces only what names it, not all of its table
                if hit and all(k[0] == "column" for k in hit):
                    hit = {k for k in hit if mentions(obj, k[-1])}
                if hit and not isinstance(obj, (m.Column, m.Table, m.Schema)):
                    more.add(key)
                elif needs & retyped and rebuild.on_retype(obj, retyped):
                    more.add(key)
            if not more:
                return
            recreate |= more
