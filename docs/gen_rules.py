"""Write docs/rules.md from the rule modules: ``python docs/gen_rules.py [--check]``.

With ``--check`` nothing is written; the exit code is 1 when the committed page is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rally_gitops.lint.ruledoc import render

PAGE = Path(__file__).resolve().parent / "rules.md"


def main(argv: list[str] | None = None) -> int:
    """Regenerate (or with --check, verify) docs/rules.md."""
    args = sys.argv[1:] if argv is None else argv
    text = render()
    current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
    if "--check" in args:
        if current != text:
            print(f"{PAGE} is stale; run python docs/gen_rules.py", file=sys.stderr)
            return 1
        return 0
    if current != text:
        PAGE.write_text(text, encoding="utf-8")
        print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
