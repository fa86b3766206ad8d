"""The proof generate runs before writing: a migration that misses is refused with its residue."""

from __future__ import annotations

from pathlib import Path

import pytest

from rally_gitops.config import load
from rally_gitops.errors import RallyError
from rally_gitops.schema.verify import verify
from testing.schema_cases import SELECTION, model


def test_a_migration_that_misses_the_target_is_refused_with_the_residue(
    project: Path, make_database
) -> None:
    source_url, target_url, copy = make_database("src"), make_database("dst"), make_database("cp")
    source = model(source_url, "CREATE TABLE t (id int)")
    target = model(target_url, "CREATE TABLE t (id int, extra text)")
    model(copy, "CREATE TABLE t (id int)")
    with pytest.raises(RallyError) as raised:
        verify(
            load(project),
            copy,
            SELECTION,
            source=source,
            target=target,
            ups=[("SELECT 1", False)],
            downs=[],
            keeps_rows=True,
        )
    assert str(raised.value) == (
        "the generated migration does not reach the target: + column public.t.extra"
    )


def test_a_rollback_that_does_not_restore_the_source_is_refused(
    project: Path, make_database
) -> None:
    source_url, target_url, copy = make_database("src"), make_database("dst"), make_database("cp")
    source = model(source_url, "CREATE TABLE t (id int)")
    target = model(target_url, "CREATE TABLE t (id int, extra text)")
    model(copy, "CREATE TABLE t (id int); INSERT INTO t VALUES (1)")
    with pytest.raises(RallyError) as raised:
        verify(
            load(project),
            copy,
            SELECTION,
            source=source,
            target=target,
            ups=[("ALTER TABLE t ADD COLUMN extra text", False)],
            downs=[("SELECT 1", False)],
            keeps_rows=True,
        )
    assert str(raised.value) == (
        "the generated rollback does not restore the source: - column public.t.extra"
    )
