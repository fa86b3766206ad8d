"""``rally-gitops init``: scaffold a repository for rally-gitops; safe to run again.

Writes what is missing (first migration, ``[tool.rally_gitops]``, ``.pre-commit-config.yaml``,
the three workflows, ``.gitignore`` entry) from the templates in ``rally_gitops/templates``, and
never replaces a file the user changed unless ``--force``.
"""

from __future__ import annotations

import argparse
import re
import tomllib
from importlib import resources
from pathlib import Path

from rally_gitops import __version__
from rally_gitops.cli import out, project_root
from rally_gitops.config import find_root, load
from rally_gitops.errors import ConfigError
from rally_gitops.files.template import TX_BODY, write_new

DEFAULT_ACTION_REF = f"rally-gitops/rally-gitops@v{__version__}"
WORKFLOWS = ("migrations-check.yml", "deploy-staging.yml", "deploy-production.yml")
ACTION_PLACEHOLDER = "__RALLY_GITOPS_ACTION__"
_ACTION_REF = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+)(/[\w./-]+)?@(?P<rev>[\w./-]+)$")
GITIGNORE_ENTRY = ".rally/"
FIRST_BODY = """BEGIN;

-- Made by `rally-gitops init`: replace this with your first change (kept as it is, it changes
-- nothing). Add the next migrations with `rally-gitops new "what it does"`.
SELECT 1;

COMMIT;
"""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("init", help="scaffold migrations, config, pre-commit and workflows")
    parser.add_argument("--force", action="store_true", help="overwrite files you have changed")
    parser.add_argument(
        "--action-ref",
        default=DEFAULT_ACTION_REF,
        metavar="OWNER/REPO@REF",
        help=f"the rally-gitops action and hooks to use (default {DEFAULT_ACTION_REF})",
    )
    parser.set_defaults(
        run=lambda a: init(find_root(project_root(a)), force=a.force, action_ref=a.action_ref)
    )


def template(name: str) -> str:
    """The text of ``rally_gitops/templates/<name>``."""
    return (resources.files("rally_gitops") / "templates" / name).read_text(encoding="utf-8")


def render_workflow(name: str, action_ref: str, migrations: str = "migrations") -> str:
    """A workflow of the templates, using the action at ``action_ref`` (``./`` in this repo)."""
    text = template(f"workflows/{name}").replace(ACTION_PLACEHOLDER, action_ref)
    return text.replace('- "migrations/**"', f'- "{migrations}/**"')


def render_pre_commit(action_ref: str, migrations: str = "migrations") -> str:
    """``.pre-commit-config.yaml`` with the hooks of the repository and tag of ``action_ref``."""
    match = _ACTION_REF.match(action_ref)
    if match is None:
        raise ConfigError(f"--action-ref {action_ref!r}: expected OWNER/REPO@REF")
    text = (
        template("pre-commit-config.yaml")
        .replace("__RALLY_GITOPS_REPO__", f"https://github.com/{match['repo']}")
        .replace("__RALLY_GITOPS_REV__", match["rev"])
    )
    if migrations != "migrations":  # the hooks' own `files:` assume migrations/
        files = f"\n        files: ^{re.escape(migrations)}/.*\\.sql$"
        text = re.sub(r"(- id: rally-migration-\w+)", lambda m: m[1] + files, text)
    return text


def init(root: Path, *, force: bool = False, action_ref: str = DEFAULT_ACTION_REF) -> int:
    """Scaffold ``root``; print one line per file (created, unchanged, kept, overwritten)."""
    render_pre_commit(action_ref)  # validates --action-ref before anything is written
    if not root.is_dir():
        raise ConfigError(f"project directory {root} does not exist")
    try:
        _pyproject(root)
        migrations = _first_migration(root)
        _write(root, ".pre-commit-config.yaml", render_pre_commit(action_ref, migrations), force)
        for name in WORKFLOWS:
            text = render_workflow(name, action_ref, migrations)
            _write(root, f".github/workflows/{name}", text, force)
        _gitignore(root)
    except OSError as exc:
        raise ConfigError(f"cannot write in {root}: {exc.strerror} ({exc.filename})") from None
    out("next: set the secrets, then `rally-gitops github setup` (docs/github.md of rally-gitops)")
    return 0


def _write(root: Path, relative: str, text: str, force: bool) -> None:
    path = root / relative
    if path.exists():
        if path.read_text(encoding="utf-8", errors="replace") == text:
            out(f"unchanged    {relative}")
            return
        if not force:
            out(f"kept (changed) {relative}  (--force replaces it)")
            return
        verb = "overwritten"
    else:
        verb = "created"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    out(f"{verb:<12} {relative}")


def _pyproject(root: Path) -> None:
    path = root / "pyproject.toml"
    section = template("pyproject-section.toml")
    if not path.exists():
        path.write_text(section, encoding="utf-8")
        out("created      pyproject.toml")
        return
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix it and run init again") from None
    if "rally_gitops" in data.get("tool", {}):
        out("unchanged    pyproject.toml  ([tool.rally_gitops] present)")
        return
    separator = (
        "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
    )
    path.write_text(text + separator + section, encoding="utf-8")
    out("appended     pyproject.toml  ([tool.rally_gitops])")


def _first_migration(root: Path) -> str:
    """Write a first migration unless there is one; returns the directory, relative to root."""
    directory = load(root).migrations_dir
    if not directory.is_relative_to(root):
        raise ConfigError(f"migrations_dir {directory} is outside the project {root}")
    relative = directory.relative_to(root).as_posix()
    if directory.is_dir() and any(directory.glob("*.sql")):
        out(f"unchanged    {relative}/  (has migrations)")
        return relative
    path = write_new(directory, "initial schema")
    # an empty migration fails the lint: start with one that runs and changes nothing
    path.write_text(
        path.read_text(encoding="utf-8").replace(TX_BODY, FIRST_BODY, 1), encoding="utf-8"
    )
    out(f"{'created':<12} {relative}/{path.name}")
    return relative


def _gitignore(root: Path) -> None:
    path = root / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    entries = {line.strip().strip("/") for line in text.splitlines()}
    if ".rally" in entries:
        out("unchanged    .gitignore")
        return
    separator = "\n" if text and not text.endswith("\n") else ""
    comment = "# rally-gitops: embedded PostgreSQL, caches and backups (backups hold data)\n"
    path.write_text(f"{text}{separator}{comment}{GITIGNORE_ENTRY}\n", encoding="utf-8")
    out(f"{'updated' if text else 'created':<12} .gitignore")
