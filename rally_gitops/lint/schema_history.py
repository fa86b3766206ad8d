"""The schema before a statement: the committed history folded, then the file's own statements.

The history is the migrations of the directory that sort before the file, each run from the
default search path as the engine runs it. Only statements that shape tables are read
(``CREATE/ALTER/DROP TABLE``, renames, ``SET search_path``); nothing is folded until a rule asks,
so a hook run over a file that needs no history pays nothing. Within one lint run the
directory is listed once and the fold is extended file after file (``lint --all``), the nodes of
files the linter parsed anyway are reused (``remember``), and at the end of the run the folded
catalog is kept as JSON in the project's state directory (``.rally/lint-history.json``), keyed by
each file's name, mtime and size, so that the next hook run folds only the files that are new
since.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pglast import ast

from rally_gitops.files.migrations import parse
from rally_gitops.lint.catalog import Catalog, Stored, Table, apply
from rally_gitops.lint.model import AnalysedStatement, FileContext
from rally_gitops.lint.names import DEFAULT_SCHEMA, after_set, schemas
from rally_gitops.lint.parsing import parse_sql

Version = tuple[str, int, int]  # (file name, mtime_ns, size)
STORE_FORMAT = 1
# what each table-shaping statement spells (``_shaping_nodes``)
_SHAPING = re.compile(r"TABLE|SET", re.I)


def before(ctx: FileContext, st: AnalysedStatement) -> Catalog:
    """The catalog just before ``st``: the committed history, then the file's earlier statements.

    Kept in ``ctx.cache`` and carried forward, so that asking statement after statement in order
    folds each statement once.
    """
    cached = ctx.cache.get("catalog")
    if cached is None or cached[0] > st.index:
        path = ctx.migration.path
        cached = (0, history(path.parent, path.name, ctx.history_store, ctx.run))
    upto, catalog = cached
    where = schemas(ctx)
    for earlier in ctx.statements[upto : st.index]:
        if earlier.pg is not None:
            apply(catalog, earlier.pg, where[earlier.index])
    ctx.cache["catalog"] = (st.index, catalog)
    return catalog


# (path, mtime, size) → pglast's nodes of the file's table-shaping statements
_NODES: dict[tuple[str, int, int], list[Any]] = {}
_SHAPING_NODES = (ast.CreateStmt, ast.AlterTableStmt, ast.RenameStmt, ast.DropStmt)


class _Folding:
    """One lint run's history of one directory: its files listed and stat'ed once (the run
    treats the files as unchanging, as it reads each once), the fold extended file after file
    (``lint --all`` asks in order), the stored fold read at most once."""

    def __init__(
        self, absolute: str, names: list[str], versions: list[Version], store: Path | None
    ) -> None:
        self.absolute = absolute  # the directory's absolute path, the prefix of ``_NODES`` keys
        self.names = names  # the sorted *.sql names
        self.versions = versions  # their versions, in the same order
        self.store = store
        self.stored: tuple[Version, ...] | None = None  # the store's files, once read
        self.done: tuple[Version, ...] = ()
        self.catalog: Catalog | None = None


def history(
    directory: Path,
    before_name: str,
    store: Path | None = None,
    run: dict[str, Any] | None = None,
) -> Catalog:
    """A catalog of what the migrations in ``directory`` sorting before ``before_name`` leave
    behind (each file starting from the default search path, as the engine runs it); the caller
    may change it (a fork of the folded one). ``store``: the JSON file kept between runs;
    ``run``: the memo of one lint run (``FileContext.run``), where the fold is carried from one
    question to the next; ``keep`` writes it to the store at the end of the run."""
    folds = run.setdefault(_RUN_KEY, {}) if run is not None else {}
    folding = folds.get(directory)
    if folding is None:
        try:
            names, versions = _listing(directory)
        except OSError:
            return Catalog()
        folding = folds[directory] = _Folding(os.path.abspath(directory), names, versions, store)
    files = tuple(folding.versions[: bisect.bisect_left(folding.names, before_name)])
    done, catalog = folding.done, folding.catalog
    if catalog is None or files[: len(done)] != done:
        done, catalog = (), Catalog()
        if store is not None:
            stored, loaded = _load(store)
            folding.stored = stored
            if loaded is not None and files[: len(stored)] == stored:
                done, catalog = stored, loaded
    for version in files[len(done) :]:
        schema = DEFAULT_SCHEMA
        for node in _shaping_nodes(os.path.join(folding.absolute, version[0]), version):
            apply(catalog, node, schema)
            schema = after_set(node, schema)
    folding.done, folding.catalog = files, catalog
    return catalog.fork()


def folds(run: dict[str, Any]) -> dict[Path, _Folding]:
    """The history folds a lint run reached, by directory (for ``keep``; picklable)."""
    found: dict[Path, _Folding] = run.get(_RUN_KEY, {})
    return {directory: f for directory, f in found.items() if f.catalog is not None}


def keep(reached: dict[Path, _Folding]) -> None:
    """At the end of a lint run: keep each directory's fold in its store when it differs from
    the stored one (the next hook run then folds only the files that are new since)."""
    for folding in reached.values():
        if folding.store is not None and folding.catalog is not None:
            if folding.done != folding.stored and folding.done:
                _save(folding.store, folding.done, folding.catalog)


_RUN_KEY = "schema_history"


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


def to_json(catalog: Catalog) -> list[Any]:
    """The catalog as plain JSON data, one row a table (``Stored`` tables as they were read)."""
    return [
        table.row if isinstance(table, Stored) else _row(key, table)
        for key, table in catalog.tables.items()
    ]


def _row(key: tuple[str, str], table: Table) -> list[Any]:
    columns = [[name, t.name, list(t.mods), t.array] for name, t in table.columns.items()]
    constraints = [
        [c.name, c.kind, list(c.references) if c.references else None, c.not_null_of, c.validated]
        for c in table.constraints.values()
    ]
    return [key[0], key[1], table.complete, columns, constraints]


def from_json(rows: list[Any]) -> Catalog:
    """The inverse of ``to_json``: each table a ``Stored`` row, made a ``Table`` where it is first
    read (``ValueError``/``TypeError`` when the rows are not rows of tables)."""
    catalog = Catalog()
    for row in rows:
        if not isinstance(row, list) or len(row) != 5:
            raise ValueError("not a stored table")
        catalog.tables[(str(row[0]), str(row[1]))] = Stored(row)
    return catalog


def _listing(directory: Path) -> tuple[list[str], list[Version]]:
    """The sorted ``*.sql`` files of the directory and their versions, in one pass."""
    found = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.endswith(".sql") and entry.is_file():
                info = entry.stat()
                found.append((entry.name, info.st_mtime_ns, info.st_size))
    found.sort()
    return [version[0] for version in found], found


def remember(path: Path, nodes: Iterable[Any], info: os.stat_result | None = None) -> None:
    """Keep the table-shaping nodes of a file the linter has parsed anyway, so that a later
    file's history does not parse it again (``lint --all`` lints in order); ``info``: its stat,
    when the caller read it already."""
    if info is None:
        try:
            info = os.stat(path)
        except OSError:
            return
    kept = [n for n in nodes if isinstance(n, _SHAPING_NODES) or _sets_path(n)]
    _NODES[(os.path.abspath(path), info.st_mtime_ns, info.st_size)] = kept


def _sets_path(node: Any) -> bool:
    return isinstance(node, ast.VariableSetStmt) and (node.name or "") == "search_path"


def _shaping_nodes(path: str, version: Version) -> list[Any]:
    """pglast's nodes of the statements of one file that shape tables (cached per version);
    ``path`` is absolute.

    The up part is parsed whole, as the linter parses a file (``remember`` keeps the same
    nodes): one parse costs a third of splitting the file and parsing its statements one by one.
    Where it does not parse (a syntax error, ``COPY ... FROM stdin`` rows), only the statements
    that spell TABLE or SET are parsed, one by one: every table-shaping statement does
    (CREATE/ALTER/DROP TABLE, ALTER TABLE ... RENAME, SET/RESET search_path). The nodes of the
    other kinds kept by a whole parse (``DROP INDEX``, ``ALTER INDEX ... RENAME``) change no table
    (``catalog.apply``).
    """
    cache_key = (path, version[1], version[2])
    nodes = _NODES.get(cache_key)
    if nodes is not None:
        return nodes
    try:
        migration = parse(Path(path))
    except Exception:  # noqa: BLE001 - a broken earlier file is reported by its own lint
        return []
    found = []
    whole = None if "\\." in migration.up else _parsed(migration.up)
    if whole is not None:
        found = [raw.stmt for raw in whole]
    for stmt in () if whole is not None else migration.statements:
        if _SHAPING.search(stmt.sql):
            try:
                found += [raw.stmt for raw in parse_sql(stmt.sql)]
            except Exception:  # noqa: BLE001 - a syntax error: that file's own finding
                continue
    nodes = _NODES[cache_key] = [n for n in found if isinstance(n, _SHAPING_NODES) or _sets_path(n)]
    return nodes


def _parsed(sql: str) -> tuple[Any, ...] | None:
    """pglast's statements of ``sql``, or None when it does not parse."""
    try:
        return parse_sql(sql)
    except Exception:  # noqa: BLE001 - ParseError and errors on odd input
        return None
