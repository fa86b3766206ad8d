"""What the lint hook loads to check one file: its start-up is most of what a commit waits for.

Each case runs the hook in a fresh interpreter (a real process, as pre-commit runs it) and looks
at the modules it imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from testing.lint_support import good, project, write

PROBE = """\
import json, sys
from rally_gitops_hooks.migration_lint import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _hook(root: Path, *args: str) -> tuple[int, str, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=root, capture_output=True, text=True, check=True
    )
    *report, last = done.stdout.splitlines()
    result = json.loads(last)
    return result["code"], "\n".join(report), set(result["modules"])


def test_file_names_alone_need_no_argument_parser(tmp_path: Path) -> None:
    root = project(tmp_path / "proj")
    name = write(root, good(body="CREATE INDEX i ON users (email);")).relative_to(root)
    code, report, modules = _hook(root, str(name))
    assert (code, report.splitlines()[-1]) == (1, "1 file, 1 error, 0 warnings")
    assert report.startswith(f"{name}:4:1: error require-concurrent-index ")
    # argparse, and the gettext, locale and shutil its parser imports, only for options
    assert modules.isdisjoint({"argparse", "gettext", "locale", "shutil"})
    assert _hook(root, "--format", "text", str(name))[:2] == (code, report)
    assert "argparse" in _hook(root, "--format", "text", str(name))[2]
