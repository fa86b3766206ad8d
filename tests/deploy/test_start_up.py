"""``status`` and a deploy with nothing pending read through libpq directly: no psycopg import
(it alone costs more than their 0.15 s budget, docs/benchmarks.md); a deploy with work does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from testing.process import Result

RUN = """
import sys
from rally_gitops.main import main
code = main(sys.argv[1:])
heavy = ("psycopg", "pglast", "sqlglot", "git", "shutil", "rally_gitops.schema",
         "rally_gitops.backup.take")
print("MODULES:", *sorted(m for m in sys.modules if m.startswith(heavy)))
sys.exit(code)
"""


def run(project: Path, url: str, *argv: str) -> tuple[Result, set[str]]:
    """``rally-gitops ARGV`` in a fresh interpreter; its result and the heavy modules it loaded."""
    proc = subprocess.run(
        [sys.executable, "-c", RUN, "-C", str(project), *argv],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DATABASE_STAGING_URL": url, "RALLY_DRIFT": "off"},
    )
    shown, _, modules = proc.stdout.rpartition("MODULES:")
    return Result(proc.returncode, shown, proc.stderr), set(modules.split())


def test_status_and_a_deploy_with_nothing_pending_import_no_driver(
    project: Path, database_url: str
) -> None:
    first, loaded = run(project, database_url, "deploy", "--env", "staging", "--no-backup")
    assert first.code == 0, first.text
    assert first.out.count("  applied ") == 6
    assert "psycopg" in loaded and "rally_gitops.schema.drift" in loaded  # the engine's path

    status, loaded = run(project, database_url, "status", "--env", "staging")
    assert status.code == 0, status.text
    assert status.out.splitlines()[0].endswith(": 6 applied, 0 pending")
    assert loaded == set()

    again, loaded = run(project, database_url, "deploy", "--env", "staging", "--yes")
    assert again.code == 0, again.text
    assert again.out.strip().endswith("up to date (6 applied), nothing to deploy")
    assert loaded == set()


def test_the_refusals_still_hold_without_the_driver(project: Path, database_url: str) -> None:
    """An edited applied file is refused by the libpq read path as before."""
    first, _ = run(project, database_url, "deploy", "--env", "staging", "--no-backup")
    assert first.code == 0, first.text
    edited = sorted((project / "migrations").glob("*.sql"))[0]
    edited.write_text("-- an edit of the up part\n" + edited.read_text())
    refused, loaded = run(project, database_url, "deploy", "--env", "staging", "--yes")
    assert refused.code == 1
    assert refused.err.startswith(
        f"error: staging: already-applied migration(s) were edited: {edited.name}."
    )
    assert loaded == set()
    status, _ = run(project, database_url, "status", "--env", "staging")
    assert f"CHANGED  (edited after it was applied)   {edited.name}" in status.out
