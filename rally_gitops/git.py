"""Git access for the migration checks, through gitpython (imported lazily: it costs ~50 ms).

Objects are read from gitpython's object database (trees via ``commit.tree / path``, blobs via
``Blob.data_stream``, both over one persistent ``git cat-file`` process), the index with
``IndexFile``, refs with ``Repo.rev_parse``. ``repo.git.<cmd>`` runs the git CLI only where
gitpython has no object-level equivalent or where it is much faster (see ``added_in``).
The base ref (``origin/main`` unless ``[tool.rally_gitops.lint] base`` or ``--base`` says
otherwise) is where committed, possibly deployed, migrations live.
"""

from __future__ import annotations

import hashlib
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


def is_repository(root: Path) -> bool:
    """True when ``root`` is inside a git work tree."""
    try:
        repository(root)
    except NotARepository:
        return False  # a missing git executable still raises: it is not "no repository"
    return True


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
    repo = repository(root)
    try:
        return repo.rev_parse(f"{ref}^{{commit}}").hexsha
    except Exception:  # noqa: BLE001 - missing, unborn, or syntax gitpython lacks: ask git
        pass
    git = _gitpython()
    with _translated("rev-parse"):
        try:
            out = repo.git.rev_parse("--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
        except git.exc.GitCommandError:
            return None  # no such commit
    return out.strip() or None


def resolve_base(config: Config, base: str | None = None) -> str:
    """The base commit's sha; a ``ConfigError`` saying how to get it when the ref is missing."""
    root = _repo_check(config)
    ref = base_ref(config, base)
    sha = resolve(root, ref)
    if sha is None:
        remote_hint = ""
        if "/" in ref:
            remote, branch = ref.split("/", 1)
            remote_hint = f"run `git fetch {remote} {branch}`, "
        raise ConfigError(
            f"base ref {ref!r} does not exist in this repository: {remote_hint}pass another base "
            "(e.g. `--base main` or `--base HEAD~1`), or set base in [tool.rally_gitops.lint]"
        )
    return sha


def resolve_base_unless_unborn(config: Config, base: str | None = None) -> str | None:
    """Like ``resolve_base``, but None in a repository without any commit and without the base
    ref: nothing is committed yet (the very first commit of a new project), so nothing to guard."""
    root = _repo_check(config)
    if resolve(root, "HEAD") is None and resolve(root, base_ref(config, base)) is None:
        return None
    return resolve_base(config, base)


def merge_base(root: Path, base_sha: str, head_sha: str | None) -> str | None:
    """The merge-base of base and HEAD (None for an unborn HEAD or unrelated histories)."""
    if head_sha is None:
        return None
    with _translated("merge-base"):
        found = repository(root).merge_base(base_sha, head_sha)
    return found[0].hexsha if found else None


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
    return Path(str(repository(root).working_tree_dir)).resolve()


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

    ``repo.git.log`` rather than ``iter_commits(paths=...)`` plus a tree comparison per commit:
    one ``git log --diff-filter=A`` took 12 ms against 47 ms on 300 files in 30 commits, and the
    gap grows with the history (the per-commit variant reads and parses two trees a commit).
    """
    spec = migrations_pathspec(config)
    with _translated("log"):
        raw = repository(config.root).git.log(
            "--reverse",
            "--diff-filter=A",
            "--no-renames",
            "-z",
            "--name-only",
            "--format=%x01%H%x1f%h%x1f%s",
            *refs,
            "--",
            spec,
            stdout_as_string=False,
        )
    out = raw.decode("utf-8", "surrogateescape")
    found: dict[str, Commit] = {}
    for chunk in out.split("\x01")[1:]:
        header, _, files = chunk.partition("\0")  # "%H\x1f%h\x1f%s\0\nNAME\0NAME\0"
        sha, short, subject = (header.split("\x1f") + ["", ""])[:3]
        for name in files.split("\0"):
            name = name.strip("\n")
            if _is_migration_name(name, spec):
                found.setdefault(Path(name).name, Commit(sha, short, subject))
    return found


def newest_committed_version(config: Config, base: str | None = None) -> str | None:
    """The highest migration version in the base tree or the HEAD tree (None if there is none)."""
    refs = _committed_refs(config, base)
    versions = [name[:15] for ref in refs for name in tree_blobs(config, ref)]
    return max(versions, default=None)


def tree_blobs(config: Config, ref: str) -> dict[str, str]:
    """File name → blob sha of every ``*.sql`` file directly in the migrations dir at ``ref``."""
    repo, spec = repository(config.root), migrations_pathspec(config)
    try:
        tree = repo.commit(ref).tree
    except Exception:  # noqa: BLE001 - gitpython raises BadName, BadObject or ValueError
        raise RallyError(f"git ls-tree failed: not a valid commit name {ref}") from None
    with _translated("cat-file"):
        try:
            folder = tree if spec == "." else tree / spec
        except KeyError:
            return {}  # no migrations directory in that commit
        if folder.type != "tree":
            return {}
        # Blob covers files and symlinks; submodule entries (mode 160000) are skipped
        return {item.name: item.hexsha for item in folder.blobs if item.name.endswith(".sql")}


def index_blobs(config: Config) -> dict[str, str]:
    """File name → blob sha of the staged ``*.sql`` files directly in the migrations dir."""
    repo, spec = repository(config.root), migrations_pathspec(config)
    git = _gitpython()
    # a hook run by `git commit FILES` / `-a` sees a temporary index named by GIT_INDEX_FILE
    index_file = os.environ.get("GIT_INDEX_FILE")
    try:
        index = git.IndexFile(repo, os.path.abspath(index_file) if index_file else None)
        entries = sorted((path, stage, entry) for (path, stage), entry in index.entries.items())
    except Exception:  # noqa: BLE001 - AssertionError, ValueError, struct.error...
        # index format 4 (feature.manyFiles), a split or sparse index: git's answer is the truth
        return _index_blobs_cli(repo, spec)
    return {
        Path(path).name: entry.hexsha
        for path, _, entry in entries
        if entry.mode != 0o160000 and _is_migration_name(str(path), spec)
    }


def _index_blobs_cli(repo: Repo, spec: str) -> dict[str, str]:
    with _translated("ls-files"):
        out = repo.git.ls_files("-s", "-z", "--", spec, stdout_as_string=False)
    out = out.decode("utf-8", "surrogateescape")
    blobs = {}
    for entry in out.split("\0"):  # "<mode> <sha> <stage>\tpath"
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[0] != "160000" and _is_migration_name(path, spec):
            blobs[Path(path).name] = parts[1]
    return blobs


def read_blobs(config: Config, shas: list[str]) -> Mapping[str, bytes]:
    """Blob sha → contents, each read from the object database on first access (most callers
    need few of them); a missing blob is absent from the mapping."""
    return _Blobs(repository(config.root), shas)


class _Blobs(Mapping[str, bytes]):
    """The lazy mapping ``read_blobs`` returns; ``Blob.data_stream`` reads through the
    repository's persistent ``git cat-file --batch`` process."""

    def __init__(self, repo: Repo, shas: list[str]) -> None:
        self._repo, self._shas = repo, list(dict.fromkeys(shas))
        self._read: dict[str, bytes | None] = {}

    def __getitem__(self, sha: str) -> bytes:
        if sha not in self._read and sha in self._shas:
            git = _gitpython()
            with _translated("cat-file"):
                try:
                    self._read[sha] = git.Blob(self._repo, bytes.fromhex(sha)).data_stream.read()
                except ValueError:  # not a sha, or "missing" from cat-file
                    self._read[sha] = None
        data = self._read.get(sha)
        if data is None:
            raise KeyError(sha)
        return data

    def __iter__(self) -> Iterator[str]:
        return (sha for sha in self._shas if sha in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def blob_sha(data: bytes) -> str:
    """The git blob sha of ``data`` (to see whether a file equals a blob without reading it)."""
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
    parent = Path(path).parent.as_posix()
    return bool(path) and path.endswith(".sql") and parent == spec


def _migration_files(config: Config, top: Path, names: list[str]) -> list[Path]:
    spec = migrations_pathspec(config)
    files = {
        (top / name).resolve()
        for name in names
        if _is_migration_name(name, spec) and (top / name).is_file()
    }
    return sorted(files, key=lambda p: p.name)
