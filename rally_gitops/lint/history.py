"""Layer 5, history: a committed migration must never be edited, renamed or deleted.

A migration is *committed* when it exists on the base branch (``origin/main`` unless configured:
``[tool.rally_gitops.lint] base``) or in any commit reachable from HEAD. It may already run on
staging or production, whose ledgers hold its name and checksum, so changing it is an error that
names the commit that introduced it. A NEW file older than the newest committed one is an error
too: deploys refuse a pending migration older than the newest applied one.

What counts as an edit follows ``Migration.checksum``: the up part after CRLF→LF and BOM removal.
A line-ending-only change is no edit. A change confined to the commented rollback section is a
*warning* (``edited-committed-rollback``): the deployed checksum does not cover it, and fixing a
wrong rollback script is legitimate, but a reviewer should look.

Which committed version is the reference: the merge-base with the base branch for files that were
already there when the branch started (so an edit committed on the branch is caught too), else
HEAD's (the working tree and index must match it).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rally_gitops import git
from rally_gitops.config import Config
from rally_gitops.errors import ConfigError, MigrationFileError
from rally_gitops.files.migrations import NAME_RE, parse
from rally_gitops.lint.model import Finding

Introduced = dict[str, git.Commit]  # file name → the commit that added it
RESTORE_HELP = "restore it with `git restore --source={ref} --staged --worktree -- {path}`"


@dataclass(frozen=True)
class _Committed:
    name: str
    blob: str | None  # the reference content; None when a branch commit already deleted it
    ref: str  # where the reference comes from, for the restore hint
    may_be_missing: bool  # on the base branch only (not merged yet): absence is no deletion


def check(
    config: Config, base: str | None = None, files: list[Path] | None = None
) -> list[Finding]:
    """Every history finding for the project's migrations directory.

    Args:
        config: the project configuration (its root must be inside a git work tree).
        base: the base ref; default ``[tool.rally_gitops.lint] base`` or ``origin/main``.
        files: report edits and version problems only for these files (deletions and renames
            are always reported: a deleted file is never among the files a hook receives).

    Raises ``RallyError`` when the project is not a git repository or the base ref is missing.
    """
    root = config.root
    base_sha = reference(config, base)
    if base_sha is None:
        return []  # no commit anywhere yet: nothing is committed
    head = git.resolve(root, "HEAD")
    fork = git.merge_base(root, base_sha, head)
    introduced = git.added_in(config, [base_sha, *([head] if head else [])])
    committed = _committed(config, base_sha, head, fork)
    index = git.index_blobs(config)
    present = {p.name for p in config.migrations_dir.glob("*.sql") if p.is_file()}
    current = present | set(index)
    blobs = git.read_blobs(config, [c.blob for c in committed.values() if c.blob])

    findings: list[Finding] = []
    deleted: dict[str, _Committed] = {}
    for name, entry in sorted(committed.items()):
        if name not in present or name not in index:
            # a file only on the base branch is simply not merged yet; anything else is deleted
            if not entry.may_be_missing:
                deleted[name] = entry
            continue
        if entry.blob is not None:
            path = config.migrations_dir / name
            findings += _compare(config, path, entry, blobs, index[name], introduced)

    new = sorted(current - set(committed))
    renamed = _renames(config, new, deleted, blobs)
    for old, new_name in renamed.items():
        del deleted[old]
        findings.append(_finding_renamed(config, old, new_name, introduced))
    for name, entry in deleted.items():
        findings.append(_finding_deleted(config, name, entry, introduced))

    newest = max((n for n in committed if NAME_RE.match(n) and committed[n].blob), default=None)
    for name in new:
        if name in renamed.values() or not NAME_RE.match(name) or newest is None:
            continue
        if name[:15] < newest[:15]:
            findings.append(_finding_older(config, name, newest, introduced))

    if files is not None and findings:  # resolving hundreds of paths for no finding costs
        wanted = {Path(f).resolve() for f in files}
        keep = {"deleted-committed-migration", "renamed-committed-migration"}
        findings = [f for f in findings if f.code in keep or Path(f.path).resolve() in wanted]
    return sorted(findings, key=Finding.sort_key)


FALLBACK_NOTE = "note: base ref {ref!r} not found; checking against HEAD's history only"


def reference(config: Config, base: str | None = None) -> str | None:
    """The sha that committed history is read against: the base ref, or HEAD when the default
    base is missing (a new repository without a remote yet: what HEAD's history holds is still
    committed, so guard that rather than refuse to run). Says so once on stderr when it falls
    back; None when nothing is committed anywhere yet. ``lint`` and the hooks both come here.

    Raises ``ConfigError`` when a base the user named (``--base`` or the configured ``base``) is
    missing.
    """
    try:
        return git.resolve_base_unless_unborn(config, base)
    except ConfigError:
        if base is not None or config.section("lint").get("base"):
            raise  # a base the user named must exist
    print(FALLBACK_NOTE.format(ref=git.DEFAULT_BASE), file=sys.stderr)
    return git.resolve(config.root, "HEAD")


def only_newest_additions(config: Config, base: str | None, added: list[str]) -> bool:
    """The fast path of a commit whose staged migration changes are all additions: True when
    each added file (a path from the top of the work tree, the hooks' working directory) lies
    directly in the migrations directory, is committed neither on HEAD nor on the base, and is
    newer than every migration committed there, so that ``check`` would find nothing for it.
    False whenever unsure: the full check then runs.
    """
    top = Path.cwd().resolve()
    try:
        spec = config.migrations_dir.resolve().relative_to(top).as_posix()
    except ValueError:
        return False
    named = base or config.section("lint").get("base")
    refs = ["HEAD"]
    if git.plain(
        top, "rev-parse", "--verify", "--quiet", f"{named or git.DEFAULT_BASE}^{{commit}}"
    ):
        refs.append(named or git.DEFAULT_BASE)
    elif named:
        return False  # a base the user named must exist: the full check says so
    committed: set[str] = set()
    for ref in refs:
        listed = git.plain(top, "ls-tree", "--name-only", "-z", ref, "--", f"{spec}/")
        if listed is None:
            return False  # an unborn HEAD, say
        committed |= {path.rsplit("/", 1)[-1] for path in listed.split("\0") if path}
    newest = max((name for name in committed if NAME_RE.match(name)), default="")
    directory = "" if spec == "." else spec
    for path in added:
        parent, _, name = path.rpartition("/")
        if parent != directory or not NAME_RE.match(name) or name in committed:
            return False
        if name[:15] <= newest[:15]:
            return False  # older than (or as old as) a committed one: let the check explain
    return True


def _committed(
    config: Config, base_sha: str, head: str | None, fork: str | None
) -> dict[str, _Committed]:
    """File name → its reference version, from the fork point, HEAD, the base branch, history."""
    committed: dict[str, _Committed] = {}
    sources = [(fork, False), (head, False), (base_sha, True)]
    seen: set[str] = set()
    for ref, only_on_base in sources:
        if ref is None or ref in seen:
            continue  # the same commit again (fork == HEAD == base is common): nothing new
        seen.add(ref)
        for name, blob in git.tree_blobs(config, ref).items():
            committed.setdefault(name, _Committed(name, blob, ref[:12], only_on_base))
    if head is not None:
        # added and later deleted by a commit of this branch: the deletion is already committed
        branch = [f"{fork}..{head}"] if fork else [head]
        for name in git.added_in(config, branch):
            committed.setdefault(name, _Committed(name, None, head[:12], False))
    return committed


def _compare(
    config: Config,
    path: Path,
    entry: _Committed,
    blobs: Mapping[str, bytes],
    index_blob: str,
    introduced: Introduced,
) -> list[Finding]:
    """An edit finding when the working tree or the index differs from the reference."""
    try:
        data = path.read_bytes()
    except OSError:
        return []
    if index_blob == entry.blob and git.blob_sha(data) == entry.blob:
        return []  # unchanged: the committed content is not even read (blobs is lazy)
    reference = blobs.get(entry.blob or "")
    if reference is None:
        return []
    candidates = [data]
    if index_blob != entry.blob:
        candidates += git.read_blobs(config, [index_blob]).values()
    ref_up, ref_rest = sections(path.name, reference)
    for candidate in candidates:
        up, rest = sections(path.name, candidate)
        if up != ref_up:
            return [_finding_edited(path, entry, ref_up, up, introduced)]
    for candidate in candidates:
        up, rest = sections(path.name, candidate)
        if rest != ref_rest:
            line = up.count("\n") + _first_difference(ref_rest, rest)
            return [_finding_rollback(path, line, introduced)]
    return []


def sections(name: str, data: bytes) -> tuple[str, str]:
    """(up part, everything after it) normalised like ``Migration.checksum`` (LF, no BOM)."""
    try:
        migration = parse(Path(name), data)
    except MigrationFileError:
        text = data.decode("utf-8", "replace").removeprefix("\ufeff").replace("\r\n", "\n")
        return text, ""
    return migration.up, migration.text[len(migration.up) :]


def _renames(
    config: Config, new: list[str], deleted: dict[str, _Committed], blobs: Mapping[str, bytes]
) -> dict[str, str]:
    """Old name → new name for a deleted committed file reappearing with its content or version."""
    renamed: dict[str, str] = {}
    if not deleted or not new:
        return renamed
    ups = {
        n: sections(n, blobs[e.blob])[0]
        for n, e in deleted.items()
        if e.blob is not None and e.blob in blobs
    }
    for name in new:
        path = config.migrations_dir / name
        try:
            up = sections(name, path.read_bytes())[0]
        except OSError:
            continue
        for old, old_up in ups.items():
            if old in renamed:
                continue
            if old_up == up or (NAME_RE.match(name) and name[:15] == old[:15]):
                renamed[old] = name
                break
    return renamed


def shown(path: Path) -> str:
    """``path`` relative to the current directory when under it (clickable in a terminal)."""
    absolute = path.absolute()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def _origin(name: str, introduced: Introduced) -> str:
    commit = introduced.get(name)
    return f"committed in {commit}" if commit else "committed"


def _first_difference(old: str, new: str) -> int:
    """1-based line number of the first line where the two texts differ."""
    old_lines, new_lines = old.split("\n"), new.split("\n")
    for number, (a, b) in enumerate(zip(old_lines, new_lines, strict=False), start=1):
        if a != b:
            return number
    return min(len(old_lines), len(new_lines)) + 1


def _finding_edited(
    path: Path, entry: _Committed, ref_up: str, up: str, introduced: Introduced
) -> Finding:
    line = min(_first_difference(ref_up, up), up.count("\n") + 1)
    return Finding(
        shown(path),
        line,
        1,
        "error",
        "edited-committed-migration",
        f"{path.name} was {_origin(path.name, introduced)} and has been edited: databases that "
        "applied it keep the old version, and deploys refuse a changed checksum",
        RESTORE_HELP.format(ref=entry.ref, path=shown(path))
        + " and put the change in a new migration (`rally-gitops new`)",
    )


def _finding_rollback(path: Path, line: int, introduced: Introduced) -> Finding:
    return Finding(
        shown(path),
        line,
        1,
        "warning",
        "edited-committed-rollback",
        f"the rollback section of {path.name} ({_origin(path.name, introduced)}) has changed; "
        "allowed, since the checksum covers only the up part",
        "make sure the rollback still undoes the migration exactly as it was committed",
    )


def _finding_deleted(
    config: Config, name: str, entry: _Committed, introduced: Introduced
) -> Finding:
    path = config.migrations_dir / name
    return Finding(
        shown(path),
        1,
        1,
        "error",
        "deleted-committed-migration",
        f"{name} was {_origin(name, introduced)} and has been deleted: databases that applied it "
        "still list it, and deploys refuse a missing migration",
        RESTORE_HELP.format(ref=entry.ref, path=shown(path))
        + "; to undo its effect, write a new migration",
    )


def _finding_renamed(config: Config, old: str, new: str, introduced: Introduced) -> Finding:
    path = config.migrations_dir / new
    return Finding(
        shown(path),
        1,
        1,
        "error",
        "renamed-committed-migration",
        f"{new} is {old} renamed; {old} was {_origin(old, introduced)}: databases that applied it "
        "know it by its old name and would apply it a second time",
        f"rename it back (`git mv {shown(path)} {shown(config.migrations_dir / old)}`) and put "
        "any change in a new migration",
    )


def _finding_older(config: Config, name: str, newest: str, introduced: Introduced) -> Finding:
    path = config.migrations_dir / name
    return Finding(
        shown(path),
        1,
        1,
        "error",
        "version-older-than-committed",
        f"version {name[:15]} is older than the newest committed migration {newest} "
        f"({_origin(newest, introduced)}): deploys refuse a pending migration older than the "
        "newest applied one",
        "give it a newer version: `rally-gitops new <slug>` and move the SQL there, or rename the "
        "file with the current timestamp",
    )
