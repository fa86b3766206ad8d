"""The type checker: mypy, strict, on the package, the hooks and the test helpers (pyproject.toml).

Run as a test so that CI runs it with the suite; ``python -m mypy`` alone does the same by hand.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_strict_finds_no_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-color-output", "--no-error-summary"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert (proc.returncode, proc.stdout.strip()) == (0, ""), proc.stdout[-4000:] + proc.stderr


def test_the_tests_carry_no_type_ignore_comments() -> None:
    """The tests are not type-checked (pyproject.toml's ``files``): an ignore hides nothing."""
    marker = "# type: " + "ignore"  # split so that this file does not match itself
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if marker in line
    ]
    assert found == []
