"""``rally-gitops lint``: file selection, exit codes, formats, and no traceback on any input."""

from __future__ import annotations

import gc
import json
import random
from pathlib import Path

import pytest

from testing.gitrepo import git
from testing.lint_support import good
from testing.process import run_process

BAD_FILES: dict[str, bytes] = {
    "20250101_000001_empty.sql": b"",
    "20250101_000002_binary.sql": b"\x89PNG\r\n\x1a\n\x00\x00\x00",
    "20250101_000003_latin1.sql": "-- Migration: x\nSELECT 'café';\n".encode("latin-1"),
    "20250101_000004_no_header.sql": b"BEGIN;\nSELECT 1;\nCOMMIT;\n",
    "20250101_000005_unbalanced.sql": good("20250101_000005_unbalanced")
    .replace("COMMIT;\n-- Rollback", "-- Rollback")
    .encode(),
    "20250101_000006_syntax.sql": good("20250101_000006_syntax", "DROP TABLEE x;").encode(),
    "20250101_000007_live_after.sql": (
        good("20250101_000007_live_after") + "DROP TABLE x;\n"
    ).encode(),
    "Bad Name.sql": good("bad").encode(),
    "20250101_000009_huge.sql": b"-- x\n" * (16 * 1024 * 1024 // 5 + 1),  # over the 16 MiB default
}


def test_all_on_the_sample_project_is_clean(cli) -> None:
    result = cli("lint", "--all", "--no-history")
    assert result.code == 0, result.text
    assert result.out.strip().splitlines()[-1] == "6 files, 0 errors, 0 warnings"


def test_errors_exit_1_with_grep_style_lines(cli, project: Path) -> None:
    path = project / "migrations" / "20250101_000006_syntax.sql"
    path.write_bytes(BAD_FILES[path.name])
    result = cli("lint", str(path))
    assert result.code == 1
    first = result.out.splitlines()[0]
    assert first.endswith(
        'error syntax-error syntax error at or near "TABLEE": PostgreSQL will refuse this migration'
    )
    assert ":4:6: " in first
    assert result.out.splitlines()[1].startswith("    help: ")
    assert result.out.strip().splitlines()[-1] == "1 file, 1 error, 0 warnings"


def test_warnings_only_exit_0(cli, project: Path) -> None:
    path = project / "migrations" / "20250101_000008_no_rollback.sql"
    path.write_text(good("20250101_000008_no_rollback").split("-- Rollback")[0])
    result = cli("lint", str(path))
    assert result.code == 0
    assert "warning rollback-missing" in result.out
    assert "1 file, 0 errors, 1 warning" in result.out


def test_directory_argument_lints_its_sql_files(cli, project: Path) -> None:
    result = cli("lint", str(project / "migrations"), "--no-history")
    assert result.code == 0
    assert "6 files" in result.out


def test_usage_errors_exit_2(cli, project: Path) -> None:
    missing = cli("lint", str(project / "migrations" / "nope.sql"))
    assert (missing.code, missing.err.strip()) == (
        2,
        f"error: {project}/migrations/nope.sql: no such file",
    )
    both = cli("lint", "--all", str(project / "migrations"))
    assert both.code == 2 and "not both" in both.err
    with pytest.raises(SystemExit) as usage:
        cli("lint", "--format", "xml")  # argparse exits by itself
    assert usage.value.code == 2


def test_configuration_errors_exit_2(cli, project: Path) -> None:
    pyproject = project / "pyproject.toml"
    original = pyproject.read_text()
    cases = {
        "colour = 1": "unknown key(s) colour",
        'disable = ["no-such-rule"]': "unknown rule code(s) no-such-rule",
        'severity = { syntax-error = "fatal" }': 'expected "error" or "warning"',
        'severity = { made-up = "warning" }': "unknown rule code(s) made-up",
        'pg_version = "16"': "pg_version",
        "max_file_bytes = -1": "max_file_bytes",
    }
    for line, expected in cases.items():
        pyproject.write_text(original + f"\n[tool.rally_gitops.lint]\n{line}\n")
        result = cli("lint", "--all", "--no-history")
        assert result.code == 2, line
        assert result.err.startswith("error: ") and expected in result.err, result.err


def test_formats(cli, project: Path) -> None:
    path = project / "migrations" / "20250101_000006_syntax.sql"
    path.write_bytes(BAD_FILES[path.name])
    data = json.loads(cli("lint", "--format", "json", str(path)).out)
    assert data["errors"] == 1 and data["findings"][0]["code"] == "syntax-error"
    sarif = cli("lint", "--format", "sarif", str(path))
    assert sarif.code == 1
    assert json.loads(sarif.out)["runs"][0]["results"][0]["ruleId"] == "syntax-error"
    assert "1 file, 1 error" in sarif.err
    github = cli("lint", "--format", "github", str(path))
    assert github.out.startswith("::error file=")
    assert ",line=4,col=6,title=syntax-error::" in github.out


def test_list_codes(cli) -> None:
    result = cli("lint", "--list-codes")
    assert result.code == 0
    listed = {line.split()[0] for line in result.out.splitlines()}
    assert {"syntax-error", "file-name", "unused-ignore", "edited-committed-migration"} <= listed


def test_changed_against_base(cli, project: Path) -> None:
    git(project, "init", "-q", "-b", "main")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "initial")
    nothing = cli("lint", "--base", "main")
    assert nothing.code == 0
    assert "0 files" in nothing.out and "no new or changed migrations" in nothing.err
    new = project / "migrations" / "20250101_000006_syntax.sql"
    new.write_bytes(BAD_FILES[new.name])
    result = cli("lint", "--base", "main")
    assert result.code == 1
    assert "20250101_000006_syntax.sql:4:6: error syntax-error" in result.out
    assert "1 file," in result.out


def test_history_findings_are_included(cli, project: Path) -> None:
    git(project, "init", "-q", "-b", "main")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "initial")
    edited = project / "migrations" / "20241203_101500_create_matches.sql"
    edited.write_text(edited.read_text().replace("home_score", "home_points"))
    result = cli("lint", "--base", "main")
    assert result.code == 1
    assert "error edited-committed-migration" in result.out
    skipped = cli("lint", "--base", "main", "--no-history")
    assert skipped.code == 0


def test_not_a_repository_without_files_is_a_usage_error(cli) -> None:
    result = cli("lint")
    assert result.code == 2
    assert "not inside a git repository" in result.err


def test_every_bad_input_is_one_clear_line_and_no_traceback(project: Path) -> None:
    for name, data in BAD_FILES.items():
        (project / "migrations" / name).write_bytes(data)
    (project / "migrations" / "weird\nname\udcff.sql").write_bytes(good().encode())
    (project / "migrations" / "20250101_000010_dir.sql").mkdir()
    result = run_process(["lint", "--all", "--no-history"], cwd=project)
    assert "Traceback" not in result.text
    assert result.code == 1
    lines = [ln for ln in result.out.splitlines() if not ln.startswith("    help:")]
    expected = {
        "20250101_000001_empty.sql": "file-empty",
        "20250101_000002_binary.sql": "file-encoding",
        "20250101_000003_latin1.sql": "file-encoding",
        "20250101_000004_no_header.sql": "header-migration",
        "20250101_000005_unbalanced.sql": "transaction-unbalanced",
        "20250101_000006_syntax.sql": "syntax-error",
        "20250101_000007_live_after.sql": "live-sql-after-up",
        "Bad Name.sql": "file-name",
        "20250101_000009_huge.sql": "file-too-large",
    }
    for name, code in expected.items():
        assert any(name in ln and f" error {code} " in ln for ln in lines), (name, code)
    assert any(
        ln.startswith("migrations/weird?name\ufffd.sql:1:1: error file-name") for ln in lines
    )
    assert any("_dir.sql:1:1: error file-unreadable" in ln for ln in lines)
    assert all(ln.split(":")[1].isdigit() for ln in lines[:-1]), "one finding per line"


def garbled(rng: random.Random, sample: str) -> bytes:
    """One random or damaged migration file."""
    kind = rng.randrange(8)
    if kind == 0:
        return rng.randbytes(rng.randrange(0, 400))
    if kind == 1:
        return sample[: rng.randrange(len(sample))].encode()
    if kind == 2:
        cut = rng.randrange(len(sample))
        return (
            sample[:cut] + rng.choice(["'", '"', "$$", "$x$", "/*", "(", "E'\\"]) + sample[cut:]
        ).encode()
    if kind == 3:
        return (sample + "SELECT '" + "x" * rng.randrange(10_000, 200_000) + "';\n").encode()
    if kind == 4:
        chars = list(sample)
        for _ in range(rng.randrange(1, 20)):
            chars[rng.randrange(len(chars))] = rng.choice(";'\"$()-\n\x00é\r\\")
        return "".join(chars).encode("utf-8", "surrogatepass")
    if kind == 5:
        return sample.encode("utf-16")
    if kind == 6:
        lines = sample.split("\n")
        rng.shuffle(lines)
        return "\n".join(lines).encode()
    words = [
        "BEGIN;",
        "COMMIT;",
        "--",
        "rally:ignore",
        "rally:ignore-file",
        "CREATE",
        "TABLE",
        "INDEX",
        "CONCURRENTLY",
        "x",
        "(",
        ")",
        ";",
        "$$",
        "'",
        "ALTER",
        "DROP",
        "\n",
        "-- Rollback",
        "END",
        "ATOMIC",
        "-- rally:no-transaction\n",
    ]
    return " ".join(rng.choice(words) for _ in range(rng.randrange(1, 200))).encode()


def test_fuzz_no_traceback_on_garbled_files(project: Path) -> None:
    rng = random.Random(20241124)
    samples = [p.read_text() for p in sorted((project / "migrations").glob("*.sql"))]
    for index in range(300):
        name = f"20250201_{index:06d}_fuzz.sql" if index % 10 else f"fuzz {index}.sql"
        (project / "migrations" / name).write_bytes(garbled(rng, rng.choice(samples)))
    for fmt in ("text", "json"):
        result = run_process(["lint", "--all", "--no-history", "--format", fmt], cwd=project)
        assert "Traceback" not in result.text
        assert "internal-error" not in result.out
        assert result.code in {0, 1, 2}
        assert not result.err.startswith("error: unexpected"), result.err[-2000:]
    assert json.loads(result.out)["files"] == 306


def test_hook_entry_point(project: Path, monkeypatch, capsys) -> None:
    from rally_gitops_hooks.migration_lint import main

    monkeypatch.chdir(project)
    assert main([]) == 0
    sample = "migrations/20241201_090000_create_teams_and_users.sql"
    assert main([sample]) == 0
    assert capsys.readouterr().out.strip() == "1 file, 0 errors, 0 warnings"
    bad = project / "migrations" / "20250101_000006_syntax.sql"
    bad.write_bytes(BAD_FILES[bad.name])
    assert main([sample, str(bad.relative_to(project))]) == 1
    out = capsys.readouterr().out
    assert out.startswith("migrations/20250101_000006_syntax.sql:4:6: error syntax-error ")
    (project / "pyproject.toml").write_text("[tool.rally_gitops.lint]\nbogus = 1\n")
    assert main([sample]) == 2
    assert capsys.readouterr().err.startswith(
        "error: [tool.rally_gitops.lint]: unknown key(s) bogus"
    )
    assert gc.isenabled()  # collections are off only while the hook imports pglast and the rules


def test_github_paths_are_relative_to_the_workspace(cli, project: Path, monkeypatch) -> None:
    bad = project / "migrations" / "20250101_000006_syntax.sql"
    bad.write_bytes(BAD_FILES[bad.name])
    monkeypatch.chdir(project / "migrations")
    plain = cli("lint", "--format", "github", "--no-history", bad.name)
    assert plain.out.startswith(f"::error file={bad.name},")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(project.parent))
    result = cli("lint", "--format", "github", "--no-history", bad.name)
    assert result.out.startswith("::error file=proj/migrations/20250101_000006_syntax.sql,line=4,")
