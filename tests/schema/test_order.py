"""graph.order: hard edges hold, soft ones are given up when they make a cycle, and a cycle of
hard edges is named in the error."""

from __future__ import annotations

import pytest

from rally_gitops.errors import RallyError
from rally_gitops.schema.graph import order

A, B, C = ("create", "table", "public", "a"), ("create", "table", "public", "b"), ("create", "x")


def test_hard_edges_hold_and_ties_go_by_priority() -> None:
    nodes = {A: (0, "a"), B: (0, "b"), C: (0, "c")}
    assert order(nodes, {A: {B}}, {}) == [B, A, C]
    assert order(nodes, {}, {}) == [A, B, C]


def test_soft_edges_that_make_a_cycle_are_given_up() -> None:
    nodes = {A: (0, "a"), B: (0, "b")}
    assert order(nodes, {A: {B}}, {B: {A}}) == [B, A]


def test_a_cycle_of_hard_edges_is_named_in_the_error() -> None:
    nodes = {A: (0, "a"), B: (0, "b"), C: (0, "c")}
    with pytest.raises(RallyError) as raised:
        order(nodes, {A: {B}, B: {A}}, {})
    assert str(raised.value) == (
        "cannot order the changes: a dependency cycle among "
        "[('create', 'table', 'public', 'a'), ('create', 'table', 'public', 'b')]"
    )
