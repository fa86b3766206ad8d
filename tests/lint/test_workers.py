"""Many files on several processes (``lint.workers``) give exactly the findings of one process."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from bench.corpus import generate, generate_prisma, rally_text
from rally_gitops.config import load
from rally_gitops.lint import checker, workers
from rally_gitops.lint.checker import Checker
from rally_gitops.lint.model import Finding
from testing.gitrepo import git
from testing.lint_support import project as scratch


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = scratch(tmp_path_factory.mktemp("many") / "proj")
    corpus = generate_prisma(180, seed=5) + generate(150)  # both shapes, versions interleaved
    for migration in corpus:
        (root / "migrations" / f"{migration.name}.sql").write_text(rally_text(migration))
    return root


def lint(root: Path, processes: int) -> list[Finding]:
    (root / ".rally" / "lint-history.json").unlink(missing_ok=True)
    paths = sorted((root / "migrations").glob("*.sql"))
    return Checker(load(root), workers=processes).check(paths)


def stored(root: Path) -> Any:
    return json.loads((root / ".rally" / "lint-history.json").read_text())


def test_workers_find_what_one_process_finds(root: Path) -> None:
    alone = lint(root, 1)
    assert len(alone) > 80
    assert {f.code for f in alone} >= {"changing-column-type", "require-concurrent-index"}
    fold = stored(root)
    assert len(fold["files"]) > 100  # up to the last file that asked for the history
    assert lint(root, 2) == alone
    assert stored(root) == fold  # the fold of the run that reached furthest, the same one
    assert lint(root, 3) == alone
    assert stored(root) == fold


def test_a_worker_that_dies_is_replaced_by_the_parent(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = lint(root, 1)
    parent = os.getpid()
    real = Checker.check_file

    def dies_in_a_child(
        self: Checker, path: Path, shown: str, extra: Iterable[Finding] = ()
    ) -> list[Finding]:
        if os.getpid() != parent:
            os._exit(3)
        return real(self, path, shown, extra)

    monkeypatch.setattr(Checker, "check_file", dies_in_a_child)
    assert lint(root, 2) == alone


def test_worker_count() -> None:
    assert workers.worker_count(workers.MIN_FILES - 1) == 1
    assert 1 <= workers.worker_count(10_000) <= workers.MAX_WORKERS
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert workers.worker_count(10_000) == 1  # never fork a process with threads
    finally:
        stop.set()
        thread.join()


def test_later_runs_get_fewer_files_for_the_history_they_fold_first() -> None:
    # 456 checked against 364 checked + 0.2 * 456 folded: the same work
    assert workers.run_bounds(820, 2) == [0, 456, 820]
    assert workers.run_bounds(820, 3) == [0, 336, 605, 820]
    assert workers.run_bounds(820, 2, fold=0.4) == [0, 512, 820]
    assert workers.run_bounds(820, 2, fold=0.0) == [0, 410, 820]
    assert workers.run_bounds(3, 4) == [0, 1, 2, 3, 3]  # never an empty run before a full one
    assert workers.run_split(list(range(820)), 2, len) == [456, 364]  # the second one forked


def test_lint_all_with_history_beside_the_checks(
    cli: Any, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for migration in generate_prisma(40, seed=9):  # worker_count is forced below
        (project / "migrations" / f"{migration.name}.sql").write_text(rally_text(migration))
    git(project, "init", "-q", "-b", "main")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "initial")
    edited = project / "migrations" / "20241203_101500_create_matches.sql"
    edited.write_text(edited.read_text().replace("home_score", "home_points"))
    deleted = sorted((project / "migrations").glob("2022*.sql"))[3]
    deleted.unlink()

    def runs(processes: int) -> list[tuple[int, str, str]]:
        for module in (workers, checker):
            monkeypatch.setattr(module, "worker_count", lambda files: processes)
        return [
            (r.code, r.out, r.err)
            for r in (cli("lint", "--all", "--base", "main"), cli("lint", "--all", "--base", "x"))
        ]

    inline, beside = runs(1), runs(2)
    assert beside == inline
    (code, out, _), (bad_code, _, bad_err) = beside
    assert code == 1 and bad_code == 2
    assert f"{edited.relative_to(project)}:" in out and "error edited-committed-migration" in out
    assert f"error deleted-committed-migration {deleted.name} was committed in" in out
    assert bad_err.startswith("error: base ref 'x' does not exist")
