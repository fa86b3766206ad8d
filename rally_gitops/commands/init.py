"""``rally-gitops init``: scaffold a repository for rally-gitops; safe to run again.

Writes what is missing (first migration, ``[tool.rally_gitops]``, ``.pre-commit-config.yaml``,
the three workflows, ``.gitignore`` entry) from the templates in ``rally_gitops/templates``,
never replaces a file the user changed unless ``--force``, and installs the git hook. Nothing it
writes names a repository or release that may not exist: the hooks are local ones calling the
installed console scripts unless ``--hooks-repo URL@REV``, and the workflows are written only
with the action to use (``--action-ref``).
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from importlib import resources
from pathlib import Path

from rally_gitops.cli import out, project_root
from rally_gitops.config import find_root, load
from rally_gitops.errors import ConfigError
from rally_gitops.files.template import TX_BODY, write_new
from rally_gitops.templates import precommit

WORKFLOWS = ("migrations-check.yml", "deploy-staging.yml", "deploy-production.yml")
ACTION_PLACEHOLDER = "__RALLY_GITOPS_ACTION__"
# what GitHub accepts after `uses:`: OWNER/REPO[/PATH]@REF, or a path in the repository
_ACTION_REF = re.compile(r"^([\w.-]+/[\w.-]+(/[\w./-]+)?@[\w./-]+|\./[\w./-]*)$")
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
        "--hooks-repo",
        metavar="URL@REV",
        help="pre-commit fetches the hooks from this repository at REV (any URL or path "
        "pre-commit accepts); default: local hooks running the installed rally-migration-*",
    )
    parser.add_argument(
        "--action-ref",
        metavar="OWNER/REPO@REF",
        help="the rally-gitops GitHub Action the workflows use; without it no workflow is written",
    )
    parser.set_defaults(
        run=lambda a: init(
            find_root(project_root(a)),
            force=a.force,
            action_ref=a.action_ref,
            hooks_repo=a.hooks_repo,
        )
    )


def template(name: str) -> str:
    """The text of ``rally_gitops/templates/<name>``."""
    return (resources.files("rally_gitops") / "templates" / name).read_text(encoding="utf-8")


def render_workflow(name: str, action_ref: str, migrations: str = "migrations") -> str:
    """A workflow of the templates, using the action at ``action_ref`` (``./`` in this repo)."""
    text = template(f"workflows/{name}").replace(ACTION_PLACEHOLDER, action_ref)
    return text.replace('- "migrations/**"', f'- "{migrations}/**"')


def render_pre_commit(migrations: str = "migrations", hooks_repo: str | None = None) -> str:
    """``.pre-commit-config.yaml``: local hooks, or those of ``hooks_repo`` (``URL@REV``)."""
    if hooks_repo is None:
        return precommit.render(template("pre-commit-config.yaml"), migrations, None)
    remote = precommit.parse_hooks_repo(hooks_repo)
    return precommit.render(template("pre-commit-remote.yaml"), migrations, remote)


def init(
    root: Path,
    *,
    force: bool = False,
    action_ref: str | None = None,
    hooks_repo: str | None = None,
) -> int:
    """Scaffold ``root``; print one line per file (created, unchanged, kept, merged...).

    Exit 1 when an existing ``.pre-commit-config.yaml`` could not take our hooks (the snippet
    to add is printed), else 0.
    """
    render_pre_commit(hooks_repo=hooks_repo)  # validates the options before anything is written
    if action_ref is not None and not _ACTION_REF.match(action_ref):
        raise ConfigError(f"--action-ref {action_ref!r}: expected OWNER/REPO@REF")
    if not root.is_dir():
        raise ConfigError(f"project directory {root} does not exist")
    try:
        _pyproject(root)
        migrations = _first_migration(root)
        hooked = _pre_commit_config(root, render_pre_commit(migrations, hooks_repo), force)
        _workflows(root, action_ref, migrations, force)
        _gitignore(root)
    except OSError as exc:
        raise ConfigError(f"cannot write in {root}: {exc.strerror} ({exc.filename})") from None
    if not hooked:
        return 1
    out(precommit.install(root))
    if hooks_repo is None and (note := precommit.scripts_missing()):
        out(note)
    out("next: set the secrets, then `rally-gitops github setup` (docs/github.md of rally-gitops)")
    return 0


def _pre_commit_config(root: Path, text: str, force: bool) -> bool:
    """Write or merge ``.pre-commit-config.yaml``; False when the user must add our hooks."""
    name = ".pre-commit-config.yaml"
    path = root / name
    if not path.exists():
        _write(root, name, text, force)
        return True
    existing = path.read_text(encoding="utf-8", errors="replace")
    if existing == text or precommit.has_our_hooks(existing):
        if force and precommit.other_hooks(existing):  # --force must not drop the team's hooks
            out(f"kept (other hooks) {name}  (edit the rally-migration hooks in it by hand)")
            return True
        _write(root, name, text, force)  # unchanged, kept as the user has it, or overwritten
        return True
    merged = precommit.merge(existing, text)
    if merged is None:
        out(f"not merged   {name}  (not a block-style `repos:` list); add under `repos:`:")
        out(precommit.entry(text).rstrip("\n"))
        print(
            f"error: {name} was kept as it is and has no rally-gitops hook: add the lines "
            "above to it, then run `rally-gitops init` again",
            file=sys.stderr,
        )
        return False
    path.write_text(merged, encoding="utf-8")
    out(f"{'merged':<12} {name}  (the rally-gitops hooks added, every other line kept)")
    return True


def _workflows(root: Path, action_ref: str | None, migrations: str, force: bool) -> None:
    if action_ref is not None:
        for name in WORKFLOWS:
            text = render_workflow(name, action_ref, migrations)
            _write(root, f".github/workflows/{name}", text, force)
        return
    for name in WORKFLOWS:
        if (root / ".github/workflows" / name).exists():
            out(f"kept         .github/workflows/{name}  (no --action-ref)")
    if not all((root / ".github/workflows" / name).exists() for name in WORKFLOWS):
        out(
            "skipped      .github/workflows/  (pass --action-ref OWNER/REPO@REF: the "
            "rally-gitops action your CI can reach, e.g. a tag of your fork)"
        )


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
