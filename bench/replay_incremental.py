"""Incremental replay: ``rally-gitops validate NEW_FILE`` on top of 300 committed migrations.

Builds a scratch git project with 300 committed, realistic migrations (bench/corpus.py: tables,
columns, indexes, plpgsql triggers, seed rows, views, CONCURRENTLY files), adds one new file and
times the whole ``rally-gitops validate migrations/<new>.sql`` process:

- cold: the first run (starts the replay server, builds the template of the 300-file prefix);
- warm: later runs (clone the cached template, apply and round-trip the one new file);
- full: ``rally-gitops validate --all`` (all 301 files, no cache), for comparison;
- the ``rally-migration-history`` hook on the same repository (30 commits of 10 files).

Goal: warm ≤ 1.5 s. Usage::

    .venv/bin/python bench/replay_incremental.py [--committed 300] [--rounds 7]

With ``RALLY_REPLAY_DATABASE_URL`` set, that server is used instead of the embedded one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from common import machine, must, run_timed, summary, venv_bin  # type: ignore[import-not-found]
from corpus import generate, write_rally  # type: ignore[import-not-found]


def git(cwd: Path, *args: str) -> None:
    """Run git with a fixed identity (the scratch repo has no config of its own)."""
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def main() -> None:
    """Generate the project, time cold, warm and full runs, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--committed", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="rally-bench-replay-"))
    project = workdir / "project"
    migrations = generate(args.committed + 1)
    try:
        (project / "migrations").mkdir(parents=True)
        (project / "pyproject.toml").write_text(
            '[project]\nname = "bench"\nversion = "0"\n\n[tool.rally_gitops.lint]\nbase = "main"\n'
        )
        git(project, "init", "-q", "-b", "main")
        for start in range(0, args.committed, 10):  # 10 migrations a commit, like a real history
            write_rally(project / "migrations", migrations[start : min(start + 10, args.committed)])
            git(project, "add", ".")
            git(project, "commit", "-q", "-m", f"migrations {start + 1}-{start + 10}")
        write_rally(project / "migrations", migrations[-1:])
        new = f"migrations/{migrations[-1].name}.sql"
        cli = venv_bin("rally-gitops")
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}

        cold = must(run_timed([cli, "validate", new], cwd=project, env=env), "cold validate")
        warm = [
            must(run_timed([cli, "validate", new], cwd=project, env=env), "warm validate")
            for _ in range(args.rounds)
        ]
        changed = must(run_timed([cli, "validate"], cwd=project, env=env), "validate vs base")
        full = must(run_timed([cli, "validate", "--all"], cwd=project, env=env), "validate --all")
        hook = venv_bin("rally-migration-history")
        history = [
            must(run_timed([hook, new], cwd=project, env=env), "history hook")
            for _ in range(args.rounds)
        ]

        print("# Incremental replay (rally-gitops validate)")
        print()
        for line in machine():
            print(f"- {line}")
        external = env.get("RALLY_REPLAY_DATABASE_URL")
        print(f"- server: {'RALLY_REPLAY_DATABASE_URL' if external else 'embedded (fsync=off)'}")
        print(f"- history: {args.committed} committed migrations + 1 new")
        print()
        print(f"cold (server start + template build): {cold.seconds:.3f} s")
        print(f"  {cold.stderr.strip().splitlines()[-1]}")
        print(f"warm, one new file (whole process): {summary([t.seconds for t in warm])}")
        print(f"  {warm[-1].stderr.strip().splitlines()[-1]}")
        print(f"warm, no FILES (new vs base via git): {changed.seconds:.3f} s")
        print(f"full replay --all, no cache ({args.committed + 1} files): {full.seconds:.3f} s")
        print(
            f"history hook, one new file (whole process): {summary([t.seconds for t in history])}"
        )
        best = min(t.seconds for t in warm)
        print(f"goal warm <= 1.5 s: {'met' if best <= 1.5 else 'MISSED'}")
    finally:
        from rally_gitops.postgres.embedded import EmbeddedServer

        EmbeddedServer(project / ".rally" / "replay-pgdata").stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
