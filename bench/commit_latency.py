"""Benchmark: what the three pre-commit hooks add to ``git commit``.

A scratch repository holds a migration history (Lemmy's with ``--history CHECKOUT``, else the
synthetic corpus of 342 files), committed, with the hooks installed by ``pre-commit install``
from ``repo: local`` entries calling this venv's console scripts (the same ids, files and
options as ``.pre-commit-hooks.yaml``). Each round times ``git commit`` of

  (a) a README change (no migration touched: the history hook's fast path), and
  (b) one new migration (lint, replay on the embedded replay server, history),

with the hooks and, for the same change, with ``--no-verify``; the baseline commit of (b) is
undone after timing so that every hooked commit finds the previous one's migration committed
(the replay extends the previous template). Warm: one commit of each kind runs first, which
also starts the hook server (README, "The hook server"); each round also commits one new
migration with ``RALLY_HOOK_SERVER=0`` (every hook its own process, as before the server).

    .venv/bin/python bench/commit_latency.py --history /tmp/lemmy --rounds 7
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

from common import Timed, load, machine, must, run_timed, summary, venv_bin
from corpus import GeneratedMigration, generate, write_rally
from diesel_history import load as load_history

HOOKS = ("rally-migration-lint", "rally-migration-validate", "rally-migration-history")
EXTRA = {
    "rally-migration-validate": "        require_serial: true\n",
    "rally-migration-history": "        always_run: true\n",
}
IDENTITY = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}
Samples = dict[str, list[float]]
GOALS = {"readme": 0.15, "migration": 0.8}  # (a) added seconds, (b) total seconds


def precommit_config() -> str:
    """``repo: local`` entries running the console scripts next to this interpreter."""
    lines = ["repos:", "  - repo: local", "    hooks:"]
    for hook in HOOKS:
        lines += [
            f"      - id: {hook}",
            f"        name: {hook}",
            f"        entry: {venv_bin(hook)}",
            "        language: system",
            "        files: ^migrations/.*\\.sql$",
            *EXTRA.get(hook, "").splitlines(),
        ]
    return "\n".join(lines) + "\n"


# pre-commit's own cost, the floor of (a): the same framework with ONE hook that the staged files
# never match (``true`` on migrations/), so nothing of rally-gitops runs
FLOOR_CONFIG = (
    "repos:\n  - repo: local\n    hooks:\n      - id: noop\n        name: noop\n"
    "        entry: 'true'\n        language: system\n        files: ^migrations/.*\\.sql$\n"
)


def new_migration(number: int) -> GeneratedMigration:
    """A small, lint-clean migration newer than any of the history."""
    stamp = dt.datetime(2099, 1, 1) + dt.timedelta(minutes=number)
    return GeneratedMigration(
        version=stamp.strftime("%Y%m%d_%H%M%S"),
        slug=f"bench_table_{number}",
        description=f"bench table {number}",
        up=f"CREATE TABLE bench_table_{number} (id bigint PRIMARY KEY, note text);\n",
        down=f"DROP TABLE bench_table_{number};\n",
    )


class Scratch:
    """The scratch repository and the environment every git and hook process gets."""

    def __init__(
        self, root: Path, migrations: list[GeneratedMigration], config: str | None = None
    ) -> None:
        self.root = root
        self.count = 0
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "RALLY_"))}
        env.update(IDENTITY, PRE_COMMIT_HOME=str(root.parent / "pre-commit-home"))
        env["PATH"] = f"{venv_bin('pre-commit').parent}{os.pathsep}{env.get('PATH', '')}"
        self.env = env
        write_rally(root / "migrations", migrations)
        (root / "pyproject.toml").write_text(
            '[project]\nname = "bench"\nversion = "0"\n\n[tool.rally_gitops]\n'
        )
        (root / ".gitignore").write_text(".rally/\n")
        (root / "README.md").write_text("# bench\n")
        (root / ".pre-commit-config.yaml").write_text(config or precommit_config())
        self.git("init", "-q", "-b", "main")
        self.git("add", "-A")
        self.git("commit", "-q", "--no-verify", "-m", "history")
        must(run_timed([venv_bin("pre-commit"), "install"], cwd=root, env=env), "install")

    def git(self, *args: str) -> Timed:
        """Run git and wait for it (stops the benchmark on a failure)."""
        result = run_timed(["git", *args], cwd=self.root, env=self.env)
        return must(result, f"git {' '.join(args[:2])}")

    def stage_readme(self) -> None:
        self.count += 1
        (self.root / "README.md").write_text(f"# bench\n\nchange {self.count}\n")
        self.git("add", "README.md")

    def stage_migration(self) -> Path:
        from corpus import rally_text

        self.count += 1
        migration = new_migration(self.count)
        path = self.root / "migrations" / f"{migration.name}.sql"
        path.write_text(rally_text(migration))
        self.git("add", str(path))
        return path

    def commit(self, *, hooks: bool, server: bool = True) -> Timed:
        flags = () if hooks else ("--no-verify",)
        env = self.env if server else {**self.env, "RALLY_HOOK_SERVER": "0"}
        argv = ["git", "commit", "-q", *flags, "-m", f"change {self.count}"]
        return must(run_timed(argv, cwd=self.root, env=env), "git commit")


def measure(scratch: Scratch, floor: Scratch, rounds: int) -> tuple[Samples, Samples]:
    """Wall-clock and CPU samples per series: readme/migration, with hooks and without, and the
    README commit of ``floor`` (pre-commit with one hook that does not run)."""
    times: Samples = {f"{kind}-{mode}": [] for kind in GOALS for mode in ("hooks", "plain")}
    times["readme-floor"] = []
    times["migration-alone"] = []  # the hooks with RALLY_HOOK_SERVER=0: each its own process
    cpu: Samples = {name: [] for name in times}
    floor.stage_readme()
    floor.commit(hooks=True)
    # warm-up: the replay server starts and builds the history's template once
    for kind in GOALS:
        (scratch.stage_readme if kind == "readme" else scratch.stage_migration)()
        scratch.commit(hooks=True)
    time.sleep(2)  # the hook server the warm-up started has imported everything
    for number in range(rounds):
        modes = ("hooks", "plain") if number % 2 == 0 else ("plain", "hooks")
        for kind in GOALS:
            for mode in modes:
                (scratch.stage_readme if kind == "readme" else scratch.stage_migration)()
                result = scratch.commit(hooks=mode == "hooks")
                times[f"{kind}-{mode}"].append(result.seconds)
                cpu[f"{kind}-{mode}"].append(result.cpu)
                if kind == "migration" and mode == "plain":
                    scratch.git("reset", "-q", "--hard", "HEAD~1")  # not in the next prefix
        scratch.stage_migration()
        result = scratch.commit(hooks=True, server=False)
        times["migration-alone"].append(result.seconds)
        cpu["migration-alone"].append(result.cpu)
        floor.stage_readme()
        result = floor.commit(hooks=True)
        times["readme-floor"].append(result.seconds)
        cpu["readme-floor"].append(result.cpu)
        print(f"round {number + 1}: " + ", ".join(f"{k} {v[-1]:.3f}" for k, v in times.items()))
    return times, cpu


def stop_replay_server(root: Path) -> None:
    from rally_gitops.postgres.embedded import EmbeddedServer

    EmbeddedServer(root / ".rally" / "replay-pgdata", fast=True).stop()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--history", type=Path, help="a checkout with migrations/*/up.sql")
    parser.add_argument("--count", type=int, default=342, help="synthetic files (no --history)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds (default 7, at least 7)")
    args = parser.parse_args(argv)
    if args.rounds < 7:
        parser.error("the benchmark needs --rounds >= 7")
    history = load_history(args.history) if args.history else generate(args.count)
    load_at_start = load()
    with tempfile.TemporaryDirectory(prefix="rally-commit-bench-") as tmp:
        root = Path(tmp) / "repo"
        scratch = Scratch(root, history)
        floor = Scratch(Path(tmp) / "floor", history[:1], FLOOR_CONFIG)
        try:
            times, cpu = measure(scratch, floor, args.rounds)
        finally:
            stop_replay_server(root)
    source = f"{args.history} (diesel layout)" if args.history else "synthetic corpus"
    print("\n== commit_latency ==")
    for line in machine():
        print(line)
    print(f"load average at the start: {load_at_start}")
    print(f"history: {len(history)} migrations from {source}; {args.rounds} rounds, warm")
    for kind, label in (("readme", "(a) README change"), ("migration", "(b) one new migration")):
        hooks, plain = times[f"{kind}-hooks"], times[f"{kind}-plain"]
        added = statistics.median(hooks) - statistics.median(plain)
        print(f"{label}, three hooks: {summary(hooks)}")
        print(f"{label}, --no-verify: {summary(plain)}")
        goal = (
            f"goal <= +{GOALS[kind]:.2f} s"
            if kind == "readme"
            else f"goal <= {GOALS[kind]:.2f} s in all"
        )
        print(f"{label}: hooks add {added:+.3f} s (medians; {goal})")
        extra_cpu = statistics.median(cpu[f"{kind}-hooks"]) - statistics.median(
            cpu[f"{kind}-plain"]
        )
        print(f"{label}: hooks add {extra_cpu:+.3f} s of CPU (user+sys of every process, medians)")
    alone = times["migration-alone"]
    print(f"(b) one new migration, three hooks without the hook server: {summary(alone)}")
    floor_times, plain = times["readme-floor"], times["readme-plain"]
    floor_added = statistics.median(floor_times) - statistics.median(plain)
    print(f"(a) floor, pre-commit itself with one hook that does not run: {summary(floor_times)}")
    print(f"(a) floor: adds {floor_added:+.3f} s (what any pre-commit hook costs a commit here)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
