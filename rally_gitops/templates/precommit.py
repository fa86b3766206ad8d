"""The ``.pre-commit-config.yaml`` that ``init`` writes, and its merge into an existing one.

By default the hooks are ``repo: local`` entries calling the installed ``rally-migration-*``
console scripts: they work offline and before any release exists. ``--hooks-repo URL@REV``
names a repository pre-commit fetches instead (any URL or path pre-commit accepts).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from rally_gitops.errors import ConfigError

HOOK_IDS = ("rally-migration-lint", "rally-migration-validate", "rally-migration-history")
_PLAIN = re.compile(r"^[\w./~+-][\w./:@~+-]*$")  # a YAML plain scalar needing no quotes
_REPOS = re.compile(r"^repos\s*:\s*(#.*)?$")


def parse_hooks_repo(spec: str) -> tuple[str, str]:
    """``URL@REV`` → ``(URL, REV)``; the last ``@`` splits, so ``git@host:x/y.git@v1`` works."""
    url, at, rev = spec.rpartition("@")
    if not at or not url.strip() or not rev.strip() or ":" in rev or rev != rev.strip():
        raise ConfigError(
            f"--hooks-repo {spec!r}: expected URL@REV, e.g. "
            "https://github.com/OWNER/rally-gitops@v0.1.0 or /path/to/rally-gitops@COMMIT"
        )
    return url, rev


def render(template_text: str, migrations: str, remote: tuple[str, str] | None) -> str:
    """The config from its template: the remote's URL and rev filled in, ``files:`` following
    the migrations directory."""
    text = template_text
    if remote is not None:
        text = text.replace("__RALLY_GITOPS_REPO__", _scalar(remote[0]))
        text = text.replace("__RALLY_GITOPS_REV__", _scalar(remote[1]))
    if migrations == "migrations":
        return text
    files = f"^{re.escape(migrations)}/.*\\.sql$"
    if "files: ^migrations/" in text:  # local hooks carry their own `files:`
        return text.replace("files: ^migrations/.*\\.sql$", f"files: {files}")
    return re.sub(r"(\n(\s*)- id: rally-migration-\w+)", rf"\1\n\2  files: {files}", text)


def has_our_hooks(text: str) -> bool:
    """True when the config already runs one of the rally-migration hooks."""
    return any(hook.get("id") in HOOK_IDS for hook in _hooks(_load(text)))


def other_hooks(text: str) -> bool:
    """True when the config runs hooks besides ours (``init --force`` keeps such a file)."""
    return any(hook.get("id") not in HOOK_IDS for hook in _hooks(_load(text)))


def install(root: Path) -> str:
    """``pre-commit install`` in a git repository, so that the next commit runs the hooks;
    returns the line to report (a failure is reported, not raised: the files are written)."""
    from rally_gitops.config import DEFAULT_ENVIRONMENTS

    if not (root / ".git").exists():
        return "skipped      git hook  (not a git repository: run `pre-commit install` in one)"
    secret = {str(values["url_env"]) for values in DEFAULT_ENVIRONMENTS.values()}
    env = {k: v for k, v in os.environ.items() if k not in secret}  # it needs no database
    try:
        done = subprocess.run(
            (sys.executable, "-m", "pre_commit", "install"),
            cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"not installed git hook  ({exc}): run `pre-commit install`"
    said = (done.stdout + done.stderr).strip().splitlines() or [f"exit {done.returncode}"]
    if done.returncode != 0:
        return f"not installed git hook  ({said[-1]}): run `pre-commit install`"
    return f"{'installed':<12} git hook  ({said[-1]})"


def scripts_missing() -> str | None:
    """A note when the local hooks' commands are not on PATH (they would not be found)."""
    missing = [name for name in HOOK_IDS if shutil.which(name) is None]
    if not missing:
        return None
    return (
        f"note: {', '.join(missing)} not on PATH: the hooks run them, so activate the "
        "environment rally-gitops is installed in before you commit (or use pipx)"
    )


def entry(config_text: str) -> str:
    """Our ``repos:`` item of a rendered config: the lines to add under an existing ``repos:``."""
    return config_text.split("\nrepos:\n", 1)[1]


def merge(existing: str, ours: str) -> str | None:
    """``existing`` with our ``repos:`` item added after its last one, every other line (hooks,
    comments) kept; None when the file is not a block-style ``repos:`` list we can extend."""
    data = _load(existing)
    if not isinstance(data, dict) or not isinstance(data.get("repos"), list):
        return None
    lines = existing.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if _REPOS.match(line.rstrip())), None)
    if start is None:
        return None
    end = next(
        (
            j
            for j in range(start + 1, len(lines))
            if lines[j].strip() and not lines[j].startswith((" ", "\t", "#", "-"))
        ),
        len(lines),
    )
    content = [k for k in range(start + 1, end) if lines[k].strip() and lines[k].strip()[0] != "#"]
    items = [lines[k] for k in content if lines[k].lstrip().startswith("- ")]
    if not content or not items:
        return None
    indent = items[0][: len(items[0]) - len(items[0].lstrip())]
    shift = len(indent) - 2  # our item is indented by two spaces
    added = [indent + "# rally-gitops: checks of the migrations (added by `rally-gitops init`)\n"]
    added += [_shift(line, shift) for line in entry(ours).splitlines(keepends=True)]
    last = content[-1]
    head = lines[: last + 1]
    if not head[-1].endswith("\n"):
        head[-1] += "\n"
    merged = "".join(head + added + lines[last + 1 :])
    expected = {**data, "repos": [*data["repos"], *_load(ours)["repos"]]}
    return merged if _load(merged) == expected else None


def _shift(line: str, by: int) -> str:
    """``line`` indented ``by`` more columns (fewer when negative)."""
    if not line.strip():
        return line
    return " " * by + line if by >= 0 else line[min(-by, len(line) - len(line.lstrip())) :]


def _scalar(value: str) -> str:
    """``value`` as a YAML scalar: plain when safe, else a double-quoted (JSON) string."""
    return value if _PLAIN.match(value) else json.dumps(value)


def _load(text: str) -> Any:
    import yaml  # pre-commit depends on PyYAML

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def _hooks(data: Any) -> list[dict[str, Any]]:
    repos = data.get("repos") if isinstance(data, dict) else None
    if not isinstance(repos, list):
        return []
    return [
        hook
        for repo in repos
        if isinstance(repo, dict) and isinstance(repo.get("hooks"), list)
        for hook in repo["hooks"]
        if isinstance(hook, dict)
    ]
