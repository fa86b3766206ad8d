"""The schema before a statement: the committed history folded, then the file's own statements.

The history is the migrations of the directory that sort before the file, each run from the
default search path as the engine runs it. Only statements that shape tables are read
(``CREATE/ALTER/DROP TABLE``, renames, ``SET search_path``); nothing is folded until a rule asks,
so a hook run over a file that needs no history pays nothing. Within one process the fold is
extended file after file (``lint --all``), the nodes of files the linter parsed anyway are
reused (``remember``), and the folded catalog is kept as JSON in the project's state directory
(``.rally/lint-history.json``), keyed by each file's name, mtime and size, so that the next hook
run folds only the files that are new since.
"""

from __future__ import annotations

import bisect
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pglast import ast

from rally_gitops.files.migrations import parse
from rally_gitops.lint.catalog import Catalog, apply, from_json, to_json
from rally_gitops.lint.model import AnalysedStatement, FileContext
from rally_gitops.lint.names import DEFAULT_SCHEMA, after_set, schemas
from rally_gitops.lint.parsing import parse_sql

Version = tuple[str, int, int]  # (file name, mtime_ns, size)
STORE_FORMAT = 1
_SHAPING = re.compile(
    r"(?:CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:TEMP\w*\s+|UNLOGGED\s+)?TABLE|ALTER\s+TABLE|"
    r"DROP\s+TABLE|SET\s|RESET\s)",
    re.I,
)


def before(ctx: FileContext, st: AnalysedStatement) -> Catalog:
    """The catalog just before ``st``: the committed history, then the file's earlier statements.

    Kept in ``ctx.cache`` and carried forward, so that asking statement after statement in order
    folds each statement once.
    """
    cached = ctx.cache.get("catalog")
    if cached is None or cached[0] > st.index:
        path = ctx.migration.path
        cached = (0, history(path.parent, path.name, ctx.history_store))
    upto, catalog = cached
    where = schemas(ctx)
    for earlier in ctx.statements[upto : st.index]:
        if earlier.pg is not None:
            apply(catalog, earlier.pg, where[earlier.index])
    ctx.cache["catalog"] = (st.index, catalog)
    return catalog


# directory → (its mtime, file versions folded, the catalog after them): lint --all asks file
# after file, each question extends the last fold
_FOLDED: dict[Path, tuple[int, tuple[Version, ...], Catalog]] = {}
# (path, mtime, size) → pglast's nodes of the file's table-shaping statements
_NODES: dict[tuple[str, int, int], list[Any]] = {}
_SHAPING_NODES = (ast.CreateStmt, ast.AlterTableStmt, ast.RenameStmt, ast.DropStmt)


def history(directory: Path, before_name: str, store: Path | None = None) -> Catalog:
    """A catalog of what the migrations in ``directory`` sorting before ``before_name`` leave
    behind (each file starting from the default search path, as the engine runs it); the caller
    may change it (a fork of the cached one). ``store``: the JSON file kept between runs."""
    try:
        stamp = _trusted(directory.stat().st_mtime_ns)
        stamp_, done, catalog = _FOLDED.get(directory, (0, (), None))
        names = _listing(directory, stamp)
        fresh = stamp and stamp == stamp_
        if catalog is not None and fresh and (not done or done[-1][0] < before_name):
            # no file added, removed or renamed (an editor saving in place is caught by the
            # next process: the cache lives for one run): only the files after the fold
            start = bisect.bisect_right(names, done[-1][0]) if done else 0
            files = [
                *done,
                *_versions(directory, names[start : bisect.bisect_left(names, before_name)]),
            ]
        else:
            files = _versions(directory, names[: bisect.bisect_left(names, before_name)])
    except OSError:
        return Catalog()
    files.sort()
    stored: tuple[Version, ...] = ()
    if catalog is None and store is not None:  # the first question of this process
        stored, catalog = _load(store)
        done = stored
    if catalog is None or tuple(files[: len(done)]) != done:
        done, catalog = (), Catalog()
    for version in files[len(done) :]:
        schema = DEFAULT_SCHEMA
        for node in _shaping_nodes(directory / version[0], version):
            apply(catalog, node, schema)
            schema = after_set(node, schema)
    _FOLDED[directory] = (stamp, tuple(files), catalog)
    if store is not None and directory not in _FOLDED_ONCE and len(files) > len(stored):
        _save(store, tuple(files), catalog)
    _FOLDED_ONCE.add(directory)
    return catalog.fork()


_FOLDED_ONCE: set[Path] = set()  # directories whose store this process read (written once)


def _load(store: Path) -> tuple[tuple[Version, ...], Catalog | None]:
    """The stored fold, or nothing when it is missing or unreadable (it is only a cache)."""
    import json  # only when a rule needs the history: not at every hook start

    try:
        data = json.loads(store.read_text(encoding="utf-8"))
        if data.get("format") != STORE_FORMAT:
            return (), None
        files = tuple((str(n), int(m), int(z)) for n, m, z in data["files"])
        return files, from_json(data["tables"])
    except (OSError, ValueError, TypeError, KeyError):
        return (), None


def _save(store: Path, files: tuple[Version, ...], catalog: Catalog) -> None:
    """Write the fold atomically; a state directory that cannot be written is no error."""
    import json

    data = {"format": STORE_FORMAT, "files": [list(v) for v in files], "tables": to_json(catalog)}
    try:
        store.parent.mkdir(parents=True, exist_ok=True)
        partial = store.with_name(f".{store.name}.{os.getpid()}")
        partial.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        partial.replace(store)
    except OSError:
        pass


_LISTED: dict[Path, tuple[int, list[str]]] = {}  # directory → (its mtime, sorted *.sql names)
RACY_NS = 2_000_000_000  # a directory changed this recently may change again within its mtime


def _trusted(mtime_ns: int) -> int:
    """The directory's mtime as a cache key, or 0 (matches nothing) while it is so recent that a
    file created in the same clock tick would leave it unchanged (git's "racy" rule)."""
    return mtime_ns if time.time_ns() - mtime_ns > RACY_NS else 0


def _listing(directory: Path, stamp: int) -> list[str]:
    """The sorted ``*.sql`` names of the directory, listed again only when its mtime changed."""
    cached = _LISTED.get(directory)
    if cached is None or not stamp or cached[0] != stamp:
        with os.scandir(directory) as entries:
            names = sorted(e.name for e in entries if e.name.endswith(".sql") and e.is_file())
        cached = _LISTED[directory] = (stamp, names)
    return cached[1]


def _versions(directory: Path, names: list[str]) -> list[Version]:
    found = []
    for name in names:
        info = os.stat(directory / name)
        found.append((name, info.st_mtime_ns, info.st_size))
    return found


def remember(path: Path, nodes: Iterable[Any]) -> None:
    """Keep the table-shaping nodes of a file the linter has parsed anyway, so that a later
    file's history does not parse it again (``lint --all`` lints in order)."""
    try:
        info = path.stat()
    except OSError:
        return
    kept = [n for n in nodes if isinstance(n, _SHAPING_NODES) or _sets_path(n)]
    _NODES[(os.path.abspath(path), info.st_mtime_ns, info.st_size)] = kept


def _sets_path(node: Any) -> bool:
    return isinstance(node, ast.VariableSetStmt) and (node.name or "") == "search_path"


def _shaping_nodes(path: Path, version: Version) -> list[Any]:
    """pglast's nodes of the statements of one file that shape tables (cached per version)."""
    cache_key = (os.path.abspath(path), version[1], version[2])
    nodes = _NODES.get(cache_key)
    if nodes is not None:
        return nodes
    try:
        migration = parse(path)
    except Exception:  # noqa: BLE001 - a broken earlier file is reported by its own lint
        return []
    try:
        found = [raw.stmt for raw in parse_sql(migration.up)]
    except Exception:  # noqa: BLE001 - a syntax error: read the statements that do parse
        found = []
        for stmt in migration.statements:
            if _SHAPING.match(stmt.sql):
                try:
                    found += [raw.stmt for raw in parse_sql(stmt.sql)]
                except Exception:  # noqa: BLE001 - that file's own finding
                    continue
    nodes = _NODES[cache_key] = [n for n in found if isinstance(n, _SHAPING_NODES) or _sets_path(n)]
    return nodes
