"""Benchmark: ``rally-gitops lint --all`` against squawk on the same corpus of migration files.

Generates a realistic history (``bench/corpus.py``, default 320 files) in a scratch git project
(committed, with ``origin/main`` pointing at that commit, as in a pre-commit or CI run), lints it
with each tool, alternating, and prints the whole-process times, medians and the ratio. Then times
the pre-commit hook on one new file (``rally-migration-lint FILE``, whole process).

    .venv/bin/python bench/lint_vs_squawk.py               # 5 rounds
    .venv/bin/python bench/lint_vs_squawk.py --rounds 3 --count 500

squawk comes from PyPI (``.venv/bin/pip install squawk-cli``, which ships the native binary; done
here when missing). Both tools get the same files; each reports its own findings (rally: structure,
PostgreSQL grammar, safety rules and git history; squawk: its safety rules).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import Timed, install, load, machine, must, run_timed, summary, venv_bin
from corpus import generate, rally_text, write_rally

PYPROJECT = '[project]\nname = "bench-app"\nversion = "0"\n\n[tool.rally_gitops]\n'
GIT = ("git", "-c", "user.email=bench@example.com", "-c", "user.name=bench")


def squawk_binary() -> Path:
    """squawk next to the interpreter, installed from PyPI (squawk-cli) when missing."""
    path = Path(sys.executable).parent / "squawk"
    if path.exists():
        return path
    found = shutil.which("squawk")
    if found:
        return Path(found)
    install([sys.executable, "-m", "pip", "install", "--quiet", "squawk-cli"], "squawk-cli")
    if not path.exists():
        raise SystemExit(f"bench: squawk-cli installed but {path} is missing")
    return path


def rally_lint_available() -> bool:
    """True once ``rally-gitops lint`` exists (the linter may still be under construction)."""
    probe = run_timed([venv_bin("rally-gitops"), "lint", "--help"], cwd=Path.cwd())
    return probe.code == 0


def make_project(root: Path, count: int) -> tuple[Path, Path]:
    """A git project with ``count`` committed migrations and one new, uncommitted file."""
    migrations = generate(count + 1)
    committed, new = migrations[:-1], migrations[-1]
    write_rally(root / "migrations", committed)
    (root / "pyproject.toml").write_text(PYPROJECT)
    for argv in (
        ("init", "-q", "-b", "main"),
        ("add", "-A"),
        ("commit", "-q", "-m", "migrations"),
        ("update-ref", "refs/remotes/origin/main", "HEAD"),
    ):
        subprocess.run([*GIT, *argv], cwd=root, check=True, capture_output=True)
    new_file = root / "migrations" / f"{new.name}.sql"
    new_file.write_text(rally_text(new))
    return root, new_file


def findings(result: Timed) -> int:
    """Lines that look like ``path:line:col: ...`` (both tools' one-line formats)."""
    return sum(
        1 for ln in result.stdout.splitlines() if ln.startswith("migrations/") and ": " in ln
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=320, help="committed migrations (320)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per tool (default 5)")
    parser.add_argument("--hook-runs", type=int, default=7, help="hook runs (default 7)")
    parser.add_argument("--workdir", type=Path, help="keep the generated project here")
    args = parser.parse_args(argv)
    if args.rounds < 3 or args.count < 300:
        parser.error("the benchmark needs --rounds >= 3 and --count >= 300")
    if not rally_lint_available():
        raise SystemExit("bench: `rally-gitops lint` does not exist yet; run again once it lands")

    load_at_start = load()
    squawk = squawk_binary()
    squawk_version = run_timed([squawk, "--version"], cwd=Path.cwd()).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="rally-lint-bench-") as tmp:
        work = args.workdir.resolve() if args.workdir else Path(tmp)
        project, new_file = make_project(work / "project", args.count)
        files = sorted(str(p.relative_to(project)) for p in (project / "migrations").glob("*.sql"))
        files.remove(str(new_file.relative_to(project)))
        print(f"{len(files)} committed migrations + 1 new in {project}", flush=True)

        # the new file is not part of --all's corpus: set it aside while timing the full lint
        parked = work / new_file.name
        new_file.rename(parked)
        commands = {
            "rally": [venv_bin("rally-gitops"), "lint", "--all"],
            "squawk": [squawk, "--reporter", "gcc", *files],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        counts: dict[str, int] = {}
        for number in range(1, args.rounds + 1):
            order = list(commands) if number % 2 else list(reversed(commands))
            for name in order:
                # exit 1 means findings, which this corpus has (e.g. CREATE INDEX on a live table)
                result = must(run_timed(commands[name], cwd=project), name, ok_codes=(0, 1))
                times[name].append(result.seconds)
                cpu[name].append(result.cpu)
                counts[name] = findings(result)
                print(f"round {number}: {name:<6} {result.seconds:.3f} s", flush=True)
        parked.rename(new_file)

        hook_file = str(new_file.relative_to(project))
        hook = [venv_bin("rally-migration-lint"), hook_file]
        must(run_timed(hook, cwd=project), "rally-migration-lint (warm-up)", ok_codes=(0, 1))
        hook_runs = [
            must(run_timed(hook, cwd=project), "rally-migration-lint", ok_codes=(0, 1))
            for _ in range(args.hook_runs)
        ]
        hook_times = [run.seconds for run in hook_runs]
        squawk_one = [
            must(run_timed([squawk, hook_file], cwd=project), "squawk", ok_codes=(0, 1)).seconds
            for _ in range(args.hook_runs)
        ]

    ratio = statistics.median(times["rally"]) / statistics.median(times["squawk"])
    print()
    print("== lint_vs_squawk ==")
    for line in machine():
        print(line)
    print(f"load average at the start: {load_at_start}")
    print(f"squawk: {squawk_version} ({squawk})")
    print(f"corpus: {len(files)} migration files, {args.rounds} rounds")
    print(f"rally-gitops lint --all:       {summary(times['rally'])}  ({counts['rally']} findings)")
    print(
        f"squawk --reporter gcc FILES:   {summary(times['squawk'])}  ({counts['squawk']} findings)"
    )
    print(f"ratio rally/squawk (medians): {ratio:.2f}x")
    print(
        "CPU (user+sys, medians): "
        + ", ".join(f"{name} {statistics.median(cpu[name]):.3f} s" for name in commands)
    )
    print(f"rally-migration-lint NEW_FILE (hook, 1 file): {summary(hook_times)}  (goal <= 0.3 s)")
    print(f"  its CPU (user+sys, median): {statistics.median(r.cpu for r in hook_runs):.3f} s")
    print(f"squawk NEW_FILE (1 file):                     {summary(squawk_one)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
