"""Git access for the migration checks: the git CLI for what the history check reads, gitpython
(imported lazily: it costs ~0.1 s of CPU) for the work-tree diff of ``changed_migrations``.

Every history question is one short ``git`` process (``rev-parse``, ``merge-base``, ``log``,
``ls-tree``, ``ls-files``, one ``cat-file --batch`` for the blobs that are read at all): a
``lint --all`` or history hook spends less on those processes than on importing gitpython and
parsing trees and the index in Python. Every child gets ``child_environ()`` (no database URL).
The base ref (``origin/main`` unless ``[tool.rally_gitops.lint] base`` or ``--base`` says
otherwise) is where committed, possibly deployed, migrations live.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from rally_gitops.config import Config
from rally_gitops.errors import ConfigError, RallyError
from rally_gitops.redact import child_environ

if TYPE_CHECKING:
    from git import Repo

DEFAULT_BASE = "origin/main"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's well-known empty tree
_GIT_MISSING = "cannot run git: the git executable was not found (is git installed and on PATH?)"
_REPOS: dict[Path, Repo] = {}  # root → open repository (each holds a `git cat-file` process)
_MAX_REPOS = 4


class NotARepository(RallyError):
    """The project is not inside a git work tree (exit 2: a usage problem)."""

    exit_code = 2


@dataclass(frozen=True)
class Commit:
    """A commit, as much as a message needs: full and short sha and the subject line."""

    sha: str
    short: str
    subject: str

    def __str__(self) -> str:
        return f'{self.short} ("{self.subject}")'


def _gitpython() -> ModuleType:
    """The ``git`` package (gitpython), imported on first use."""
    # "quiet": a missing git executable must not fail the import; the first command that needs
    # it raises GitCommandNotFound, which _translated turns into a RallyError. Read only by the
    # import, so it is not left behind for child processes.
    import sys

    if "git" in sys.modules:  # imported already (by us, or by whoever imported gitpython first)
        _clean_children(sys.modules["git"])
        return sys.modules["git"]
    ours = "GIT_PYTHON_REFRESH" not in os.environ
    if ours:
        os.environ["GIT_PYTHON_REFRESH"] = "quiet"
    # the import itself runs `git version`, before the children can be cleaned (below)
    hidden = {name: os.environ.pop(name) for name in set(os.environ) - set(child_environ())}
    try:
        import git
    except ImportError as exc:  # GIT_PYTHON_REFRESH=error set by the user, and no git
        raise RallyError(_GIT_MISSING) from exc
    finally:
        os.environ.update(hidden)
        if ours:
            os.environ.pop("GIT_PYTHON_REFRESH", None)
    _clean_children(git)
    return git


def _clean_children(git: ModuleType) -> None:
    """Make every git process gitpython starts get ``child_environ()``.

    gitpython builds each child's environment from ``os.environ`` (plus additions, never
    removals), so the database URLs would reach git, its hooks and its helpers. Its one process
    factory (``git.cmd.safer_popen``, ``Popen`` before 3.1.41) is wrapped once to drop them.
    """
    name = "safer_popen" if hasattr(git.cmd, "safer_popen") else "Popen"
    popen = getattr(git.cmd, name)
    if getattr(popen, "_rally_clean", False):
        return

    def clean_popen(*args: Any, env: Mapping[str, str] | None = None, **kwargs: Any) -> Any:
        return popen(*args, env=child_environ(env), **kwargs)

    clean_popen._rally_clean = True  # type: ignore[attr-defined]
    setattr(git.cmd, name, clean_popen)


def repository(root: Path) -> Repo:
    """The gitpython ``Repo`` whose work tree contains ``root`` (cached per root)."""
    key = Path(root).resolve()
    repo = _REPOS.get(key)
    if repo is not None:
        return repo
    git = _gitpython()
    try:
        repo = git.Repo(key, search_parent_directories=True)
    except (git.exc.InvalidGitRepositoryError, git.exc.NoSuchPathError):
        raise NotARepository(f"{root} is not inside a git repository") from None
    if repo.working_tree_dir is None or key.is_relative_to(Path(repo.git_dir).resolve()):
        repo.close()  # a bare repository, or a directory inside .git: no work tree to check
        raise NotARepository(f"{root} is not inside a git repository")
    while len(_REPOS) >= _MAX_REPOS:  # tests open many scratch repositories: stop old processes
        _REPOS.pop(next(iter(_REPOS))).close()
    _REPOS[key] = repo
    return repo  # type: ignore[no-any-return]  # gitpython is loaded lazily, as Any


@contextmanager
def _translated(command: str) -> Iterator[None]:
    """Turn gitpython's exceptions into a ``RallyError`` naming the git command and the reason."""
    git = _gitpython()
    try:
        yield
    except git.exc.GitCommandNotFound:
        raise RallyError(_GIT_MISSING) from None
    except git.exc.GitCommandError as exc:
        stderr = str(exc.stderr).strip().removeprefix("stderr: '").removesuffix("'").strip()
        reason = (stderr.splitlines() or [f"exit code {exc.status}"])[-1]
        raise RallyError(f"git {command} failed: {reason.removeprefix('fatal: ')}") from None


def head_sha(root: Path) -> str | None:
    """The commit being deployed: ``GIT_SHA``, else ``GITHUB_SHA`` (Actions), else HEAD of ``root``.

    A plain ``git rev-parse`` rather than gitpython: it is on every deploy's path, and importing
    gitpython would cost more than the call.
    """
    for name in ("GIT_SHA", "GITHUB_SHA"):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--verify", "--quiet", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            stdin=subprocess.DEVNULL,
            env=child_environ(),
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (proc.stdout.strip() or None) if proc.returncode == 0 else None


def committed_blobs(directory: Path) -> dict[str, str] | None:
    """File name → blob sha of the files directly in ``directory`` at HEAD (empty when HEAD is
    unborn or the directory is not in it); None when ``directory`` is not in a git work tree.

    A plain ``git ls-tree`` rather than gitpython: deploys ask it, and importing gitpython would
    cost more than the call.
    """
    proc = _cli(directory, "ls-tree", "-z", "HEAD", "--", ".")
    if proc is None:
        return None
    if proc.returncode != 0:
        return None if b"not a git repository" in proc.stderr else {}
    blobs = {}
    for entry in proc.stdout.decode("utf-8", "surrogateescape").split("\0"):
        meta, _, name = entry.partition("\t")  # "<mode> blob <sha>\tname"
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob":
            blobs[name] = parts[2]
    return blobs


def plain(root: Path, *args: str) -> str | None:
    """``git ARGS`` in ``root`` through the CLI, without gitpython; stdout, or None on failure.

    For the history hook's fast path, which decides a commit in a few git calls.
    """
    proc = _cli(root, *args)
    if proc is None or proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", "surrogateescape")


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[bytes] | None:
    """``git -C ROOT ARGS`` through the CLI (no database URL in its environment); None when git
    cannot be run or does not answer in time."""
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
            check=False,
            env=child_environ(),
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def _git(root: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """``git -C ROOT ARGS``, its exit code left to the caller; ``RallyError`` when git cannot
    run. A hook's ``GIT_INDEX_FILE`` (``git commit FILE`` runs hooks against a temporary index)
    is made absolute: git resolves it from ``ROOT``, the hook gave it from its own directory."""
    env = child_environ()
    if env.get("GIT_INDEX_FILE"):
        env["GIT_INDEX_FILE"] = os.path.abspath(env["GIT_INDEX_FILE"])
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args],
            input=stdin,
            capture_output=True,
            timeout=60,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            check=False,
            env=env,
        )
    except FileNotFoundError:
        raise RallyError(_GIT_MISSING) from None
    except OSError as exc:
        raise RallyError(f"cannot run git: {exc.strerror or exc}") from None
    except subprocess.TimeoutExpired:
        raise RallyError(f"git {args[0]} did not answer within 60 s") from None


def _output(root: Path, *args: str, stdin: bytes | None = None) -> bytes:
    """``git ARGS``'s stdout; ``RallyError`` naming the command and git's reason on failure."""
    proc = _git(root, *args, stdin=stdin)
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = (lines or [f"exit code {proc.returncode}"])[-1]
        raise RallyError(f"git {args[0]} failed: {reason.removeprefix('fatal: ')}")
    return proc.stdout


_TOPS: dict[Path, Path] = {}  # root → the top of its work tree (only found ones: git init later)


def _top(root: Path) -> Path | None:
    """The top directory of the work tree containing ``root``; None when there is none (no
    repository, a bare one, a directory inside ``.git``)."""
    key = Path(root).resolve()
    top = _TOPS.get(key)
    if top is None:
        proc = _git(key, "rev-parse", "--show-toplevel")
        shown = os.fsdecode(proc.stdout.rstrip(b"\n"))
        if proc.returncode != 0 or not shown:
            return None
        top = _TOPS[key] = Path(shown).resolve()
    return top


def is_repository(root: Path) -> bool:
    """True when ``root`` is inside a git work tree (``RallyError`` when git cannot run)."""
    return _top(root) is not None


def base_ref(config: Config, base: str | None = None) -> str:
    """The base ref: the argument, else ``[tool.rally_gitops.lint] base``, else ``origin/main``."""
    if base:
        return base
    configured = config.section("lint").get("base")
    if configured is not None and not isinstance(configured, str):
        raise ConfigError("[tool.rally_gitops.lint] base must be a git ref such as 'origin/main'")
    return configured or DEFAULT_BASE


def resolve(root: Path, ref: str) -> str | None:
    """The commit sha ``ref`` names, or None when it does not exist (or HEAD is unborn)."""
    proc = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    return (proc.stdout.decode().strip() or None) if proc.returncode == 0 else None


def resolve_base(config: Config, base: str | None = None) -> str:
    """The base commit's sha; a ``ConfigError`` saying how to get it when the ref is missing."""
    root = _repo_check(config)
    ref = base_ref(config, base)
    sha = resolve(root, ref)
    if sha is None:
        raise _missing_base(ref)
    return sha


def _missing_base(ref: str) -> ConfigError:
    remote_hint = ""
    if "/" in ref:
        remote, branch = ref.split("/", 1)
        remote_hint = f"run `git fetch {remote} {branch}`, "
    return ConfigError(
        f"base ref {ref!r} does not exist in this repository: {remote_hint}pass another base "
        "(e.g. `--base main` or `--base HEAD~1`), or set base in [tool.rally_gitops.lint]"
    )


def resolve_base_unless_unborn(config: Config, base: str | None = None) -> str | None:
    """Like ``resolve_base``, but None in a repository without any commit and without the base
    ref: nothing is committed yet (the very first commit of a new project), so nothing to guard."""
    root = _repo_check(config)
    ref = base_ref(config, base)
    sha = resolve(root, ref)
    if sha is not None:
        return sha
    if resolve(root, "HEAD") is None:
        return None
    raise _missing_base(ref)


def merge_base(root: Path, base_sha: str, head_sha: str | None) -> str | None:
    """The merge-base of base and HEAD (None for an unborn HEAD or unrelated histories)."""
    if head_sha is None:
        return None
    proc = _git(root, "merge-base", "--end-of-options", base_sha, head_sha)
    if proc.returncode == 1 and not proc.stderr.strip():
        return None  # no common ancestor
    if proc.returncode != 0:
        _output(root, "merge-base", base_sha, head_sha)  # raises with git's reason
    return proc.stdout.decode().strip() or None


def migrations_pathspec(config: Config) -> str:
    """The migrations directory relative to the repository top level, as a git pathspec."""
    top = toplevel(config.root)
    try:
        rel = config.migrations_dir.resolve().relative_to(top)
    except ValueError:
        raise ConfigError(
            f"migrations directory {config.migrations_dir} is outside the git repository {top}"
        ) from None
    return rel.as_posix() or "."


def toplevel(root: Path) -> Path:
    """The top directory of the work tree containing ``root``."""
    top = _top(root)
    if top is None:
        raise NotARepository(f"{root} is not inside a git repository")
    return top


def changed_migrations(config: Config, base: str | None = None) -> list[Path]:
    """Migration files new or changed against the base: committed since the merge-base, staged,
    unstaged and untracked. Deleted files are not listed (there is nothing to replay)."""
    repo = repository(_repo_check(config))
    base_sha = resolve_base_unless_unborn(config, base)
    head = resolve(config.root, "HEAD")
    since = (merge_base(config.root, base_sha, head) if base_sha else None) or EMPTY_TREE
    spec = migrations_pathspec(config)
    with _translated("diff"):
        start = repo.tree(since) if since == EMPTY_TREE else repo.commit(since)
        diffs = start.diff(None, paths=spec, no_renames=True)  # `since` against the work tree
        names = [path for d in diffs for path in (d.a_path, d.b_path) if path]
    with _translated("status"):
        names += repo.untracked_files
    return _migration_files(config, toplevel(config.root), names)


def committed_migrations(config: Config, base: str | None = None) -> dict[str, Commit]:
    """File name → the commit that first added it, over the base branch and HEAD's history."""
    return added_in(config, _committed_refs(config, base))


def added_in(config: Config, refs: list[str]) -> dict[str, Commit]:
    """File name → oldest commit among those reachable from ``refs`` that added it.

    One ``git log --diff-filter=A`` rather than a tree comparison per commit: 12 ms against
    47 ms on 300 files in 30 commits, and the gap grows with the history.
    """
    spec = migrations_pathspec(config)
    raw = _output(
        toplevel(config.root),
        "log",
        "--reverse",
        "--diff-filter=A",
        "--no-renames",
        "-z",
        "--name-only",
        "--format=%x01%H%x1f%h%x1f%s",
        *refs,
        "--",
        spec,
    )
    out = raw.decode("utf-8", "surrogateescape")
    found: dict[str, Commit] = {}
    for chunk in out.split("\x01")[1:]:
        header, _, files = chunk.partition("\0")  # "%H\x1f%h\x1f%s\0\nNAME\0NAME\0"
        sha, short, subject = (header.split("\x1f") + ["", ""])[:3]
        for name in files.split("\0"):
            name = name.strip("\n")
            if _is_migration_name(name, spec):
                found.setdefault(name.rpartition("/")[2], Commit(sha, short, subject))
    return found


def newest_committed_version(config: Config, base: str | None = None) -> str | None:
    """The highest migration version in the base tree or the HEAD tree (None if there is none)."""
    refs = _committed_refs(config, base)
    versions = [name[:15] for ref in refs for name in tree_blobs(config, ref)]
    return max(versions, default=None)


def tree_blobs(config: Config, ref: str) -> dict[str, str]:
    """File name → blob sha of every ``*.sql`` file directly in the migrations dir at ``ref``
    (files and symlinks; submodule entries and subdirectories are skipped)."""
    top, spec = toplevel(config.root), migrations_pathspec(config)
    proc = _git(top, "ls-tree", "-z", "--end-of-options", f"{ref}^{{tree}}", "--", f"{spec}/")
    if proc.returncode != 0:
        raise RallyError(f"git ls-tree failed: not a valid commit name {ref}")
    blobs = {}
    for entry in proc.stdout.decode("utf-8", "surrogateescape").split("\0"):
        meta, _, path = entry.partition("\t")  # "<mode> <type> <sha>\tpath"
        parts = meta.split()
        name = path.rpartition("/")[2]
        if len(parts) == 3 and parts[1] == "blob" and name.endswith(".sql"):
            blobs[name] = parts[2]
    return blobs


def index_blobs(config: Config) -> dict[str, str]:
    """File name → blob sha of the staged ``*.sql`` files directly in the migrations dir (the
    index ``GIT_INDEX_FILE`` names, when a hook runs for ``git commit FILES`` / ``-a``)."""
    top, spec = toplevel(config.root), migrations_pathspec(config)
    out = _output(top, "ls-files", "-s", "-z", "--", spec).decode("utf-8", "surrogateescape")
    blobs = {}
    for entry in out.split("\0"):  # "<mode> <sha> <stage>\tpath", stages in order
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[0] != "160000" and _is_migration_name(path, spec):
            blobs[path.rpartition("/")[2]] = parts[1]
    return blobs


def read_blobs(config: Config, shas: list[str]) -> Mapping[str, bytes]:
    """Blob sha → contents; nothing is read until one is asked for, then all of them in one
    ``git cat-file --batch`` (most callers need none); a missing blob is absent."""
    return _Blobs(toplevel(config.root), shas)


class _Blobs(Mapping[str, bytes]):
    """The lazy mapping ``read_blobs`` returns."""

    def __init__(self, top: Path, shas: list[str]) -> None:
        self._top, self._shas = top, list(dict.fromkeys(shas))
        self._read: dict[str, bytes] | None = None

    def _contents(self) -> dict[str, bytes]:
        if self._read is None:
            wanted = [sha for sha in self._shas if sha and sha.isalnum() and sha.isascii()]
            self._read = _cat_file(self._top, wanted) if wanted else {}
        return self._read

    def __getitem__(self, sha: str) -> bytes:
        return self._contents()[sha]

    def __iter__(self) -> Iterator[str]:
        return (sha for sha in self._shas if sha in self._contents())

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _cat_file(top: Path, shas: list[str]) -> dict[str, bytes]:
    """The contents of the objects ``shas`` name, from one ``git cat-file --batch``."""
    out = _output(top, "cat-file", "--batch", stdin="".join(f"{s}\n" for s in shas).encode())
    found: dict[str, bytes] = {}
    at = 0
    for sha in shas:  # "<sha> <type> <size>\n<contents>\n", or "<name> missing\n"
        end = out.index(b"\n", at)
        parts = out[at:end].split()
        at = end + 1
        if len(parts) == 3 and parts[1] != b"missing":
            size = int(parts[2])
            found[sha] = out[at : at + size]
            at += size + 1
    return found


def blob_sha(data: bytes) -> str:
    """The git blob sha of ``data`` (to see whether a file equals a blob without reading it)."""
    import hashlib  # only once a file is compared: not for every caller of this module

    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's id


def _committed_refs(config: Config, base: str | None) -> list[str]:
    root = _repo_check(config)
    head = resolve(root, "HEAD")
    return [resolve_base(config, base), *([head] if head else [])]


def _repo_check(config: Config) -> Path:
    if not is_repository(config.root):
        raise NotARepository(
            f"{config.root} is not inside a git repository; the history check needs one "
            "(run `git init`, or name the files to check explicitly)"
        )
    return config.root


def _is_migration_name(path: str, spec: str) -> bool:
    # git prints normalised paths from the top ("dir/name.sql"): no Path needed to split them
    return path.endswith(".sql") and (path.rpartition("/")[0] or ".") == spec


def _migration_files(config: Config, top: Path, names: list[str]) -> list[Path]:
    spec = migrations_pathspec(config)
    files = {
        (top / name).resolve()
        for name in names
        if _is_migration_name(name, spec) and (top / name).is_file()
    }
    return sorted(files, key=lambda p: p.name)
