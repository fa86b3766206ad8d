"""The order of a plan's steps: an edge from each step to the steps of what it needs (created,
altered or owned first; dropped after), resolved once per node, then a topological sort that
adds early and drops late (``graph.order``).

A node is an action on an object, ``(action, *key)``; the plan makes a step of most nodes and
an alias of the others: a new table's column is its table's step, a dropped table's trigger
goes with the table's drop (``None``: PostgreSQL does it by itself).
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

from rally_gitops.schema import model as m
from rally_gitops.schema.graph import Key, order
from rally_gitops.schema.steps import ALTER, CREATE, DROP, OWN, Step

# what is dropped before a column changes type and created after (what PostgreSQL refuses to
# keep over it: views, policies, triggers, generated columns)
_AROUND_RETYPE = (m.View, m.Policy, m.Trigger, m.Column)
_EMPTY: frozenset[Key] = frozenset()


class Needs(NamedTuple):
    """What each object needs first (``graph.dependencies``): hard in the source and the
    target, soft (function bodies) in the target."""

    source: dict[Key, set[Key]]
    target: dict[Key, set[Key]]
    soft: dict[Key, set[Key]]


def ordered(
    steps: dict[Key, Step],
    alias: dict[Key, Key | None],
    needs: Needs,
    retypes: dict[Key, set[Key]],
) -> list[Step]:
    """``steps`` in an order where each comes after what it needs; ``retypes``: an alter step →
    the tables and columns whose type it changes (what stands on them goes around it)."""
    edges: dict[Key, set[Key]] = {k: set() for k in steps}
    soft: dict[Key, set[Key]] = {k: set() for k in steps}

    def resolve(node: Key) -> Key | None:
        seen = set()
        while node in alias and node not in seen:
            seen.add(node)
            target = alias[node]
            if target is None:
                return None
            node = target
        return node if node in steps else None

    # every node's step, worked out once, and by action: (action, key) → the step doing it
    resolved: dict[Key, Key] = {}
    done: dict[str, dict[Key, Key]] = {CREATE: {}, ALTER: {}, OWN: {}, DROP: {}}
    for node in {**steps, **alias}:
        doer = resolve(node)
        if doer is not None:
            resolved[node] = done[node[0]][node[1:]] = doer

    def need(later: Key, earlier: Key) -> None:
        a, b = resolve(later), resolve(earlier)
        if a is not None and b is not None and a != b:
            edges[a].add(b)

    # the objects whose create, alter or own step (create or alter, for an alias) a step comes
    # after, and whose drop or alter step it comes before, gathered by step: a new table's
    # columns all gather on the table's step
    follows: dict[Key, set[Key]] = defaultdict(set)
    follows_ca: dict[Key, set[Key]] = defaultdict(set)
    precedes: dict[Key, set[Key]] = defaultdict(set)
    for sid, step in steps.items():
        for dep in step.after:
            need(sid, dep)
        at, key = resolved.get(sid), sid[1:]
        if at is None:
            continue
        if step.action == DROP:
            precedes[at] |= needs.source.get(key, _EMPTY)
            continue
        follows[at] |= needs.target.get(key, _EMPTY)  # CREATE, ALTER, OWN
        deps = needs.soft.get(key, _EMPTY)
        if deps:
            soft[at].update(map(done[CREATE].__getitem__, deps & done[CREATE].keys()))
    # what a step does for its children (a new table's columns, a dropped table's triggers)
    # needs what they need
    for node in alias:
        at = resolved.get(node)
        if at is not None and node[0] == CREATE:
            follows_ca[at] |= needs.target.get(node[1:], _EMPTY)
        elif at is not None and node[0] == DROP:
            precedes[at] |= needs.source.get(node[1:], _EMPTY)
    made = [by for by in (done[CREATE], done[ALTER], done[OWN]) if by]  # no OWN: skip it
    made_ca = [by for by in (done[CREATE], done[ALTER]) if by]
    for wants, of in ((follows, made), (follows_ca, made_ca)):
        for at, deps in wants.items():
            for by in of:
                edges[at].update(map(by.__getitem__, deps & by.keys()))
    unmade = [by for by in (done[DROP], done[ALTER]) if by]
    for at, deps in precedes.items():
        for by in unmade:
            for k in deps & by.keys():
                edges[by[k]].add(at)
    for into_all in (edges, soft):
        for k, into in into_all.items():
            into.discard(k)  # a step never waits for itself
    # what stands on a retyped table goes before the change and comes back after it
    for sid, step in steps.items() if retypes else ():
        if not isinstance(step.obj, _AROUND_RETYPE) or (
            isinstance(step.obj, m.Column) and not step.obj.generated
        ):
            continue
        key = sid[1:]
        for alter_id, tables in retypes.items():
            if step.action == DROP and needs.source.get(key, _EMPTY) & tables:
                need(alter_id, sid)
            if step.action == CREATE and needs.target.get(key, _EMPTY) & tables:
                need(sid, alter_id)
    rank = m.KIND_RANK
    priority = {
        sid: (1, -rank[s.obj.KIND], s.place) if s.action == DROP else (0, rank[s.obj.KIND], s.place)
        for sid, s in steps.items()
    }
    return [steps[k] for k in order(priority, edges, soft)]  # type: ignore[arg-type]
