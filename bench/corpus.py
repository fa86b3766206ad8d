"""A realistic, reproducible migration history for the benchmarks, in rally's and dbmate's format.

The history grows one schema the way a product team would: tables with constraints and indexes,
columns added later, indexes on earlier tables, plpgsql functions and triggers with ``$$`` bodies,
a few seed rows, views, and now and then a ``CREATE INDEX CONCURRENTLY`` (no-transaction file).
Every file applies on top of the previous ones and has a working rollback section.

Usage::

    # bench/ is sys.path[0] when a script in it runs
    from corpus import generate, write_rally, write_dbmate
    migrations = generate(320)
    write_rally(project / "migrations", migrations)
    write_dbmate(project / "db" / "migrations", migrations)
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

NOUNS = (
    "team player match venue season league referee ticket invoice payment coupon notification "
    "device session badge achievement tournament bracket sponsor contract injury training drill "
    "coach staff scout report comment reaction upload photo video stream channel message thread "
    "subscription plan feature flag audit export import webhook integration region address"
).split()
COLUMN_TYPES = (
    ("text", "'n/a'"),
    ("integer", "0"),
    ("bigint", "0"),
    ("boolean", "false"),
    ("timestamptz", "now()"),
    ("numeric(12, 2)", "0"),
    ("jsonb", "'{}'::jsonb"),
    ("date", "current_date"),
)
ADJECTIVES = "primary archived external internal public verified pending featured".split()


@dataclass(frozen=True)
class GeneratedMigration:
    """One generated migration: the same SQL serves both tools."""

    version: str  # YYYYMMDD_HHMMSS
    slug: str
    description: str
    up: str  # statements only, no BEGIN/COMMIT
    down: str
    no_transaction: bool = False

    @property
    def name(self) -> str:
        return f"{self.version}_{self.slug}"


@dataclass
class _Table:
    name: str
    columns: list[tuple[str, str]] = field(default_factory=list)  # (name, type)
    required: list[tuple[str, str]] = field(default_factory=list)  # NOT NULL, no default
    indexed: set[str] = field(default_factory=set)


class _Schema:
    """What exists so far, so that every generated statement applies."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.tables: list[_Table] = []
        self.functions = 0
        self.views = 0
        self.seq = 0

    def unique(self, base: str) -> str:
        self.seq += 1
        return f"{base}_{self.seq}"


def generate(count: int = 320, seed: int = 4711) -> list[GeneratedMigration]:
    """``count`` migrations, one minute to a few hours apart, starting 2023-01-02."""
    rng = random.Random(seed)
    schema = _Schema(rng)
    when = dt.datetime(2023, 1, 2, 9, 0, 0)
    result = []
    for index in range(count):
        when += dt.timedelta(minutes=rng.randint(7, 600), seconds=rng.randint(0, 59))
        kind = _pick_kind(schema, index)
        description, up, down, no_tx = kind(schema)
        slug = "_".join(description.lower().replace(",", "").split())[:60].strip("_")
        result.append(
            GeneratedMigration(
                version=when.strftime("%Y%m%d_%H%M%S"),
                slug=slug,
                description=description,
                up=up.strip() + "\n",
                down=down.strip() + "\n",
                no_transaction=no_tx,
            )
        )
    return result


def _pick_kind(schema: _Schema, index: int):  # type: ignore[no-untyped-def]
    if len(schema.tables) < 3 or index % 9 == 0:
        return _create_table
    roll = schema.rng.random()
    for threshold, kind in (
        (0.22, _create_table),
        (0.44, _add_column),
        (0.58, _create_index),
        (0.70, _function_and_trigger),
        (0.82, _insert_rows),
        (0.93, _create_view),
        (1.0, _concurrent_index),
    ):
        if roll < threshold:
            return kind
    return _add_column


def _create_table(schema: _Schema) -> tuple[str, str, str, bool]:
    rng = schema.rng
    name = schema.unique(rng.choice(NOUNS) + "s")
    table = _Table(name)
    lines = ["    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"]
    parent = rng.choice(schema.tables) if schema.tables else None
    if parent is not None:
        lines.append(f"    {parent.name}_id bigint REFERENCES {parent.name} (id) ON DELETE CASCADE")
        table.columns.append((f"{parent.name}_id", "bigint"))
    lines.append("    code text NOT NULL UNIQUE")
    table.columns.append(("code", "text"))
    table.required.append(("code", "text"))
    lines.append("    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200)")
    table.columns.append(("name", "text"))
    table.required.append(("name", "text"))
    for _ in range(rng.randint(1, 5)):
        col_type, default = rng.choice(COLUMN_TYPES)
        col = schema.unique(rng.choice(ADJECTIVES) + "_" + col_type.split("(")[0])
        lines.append(f"    {col} {col_type} NOT NULL DEFAULT {default}")
        table.columns.append((col, col_type))
    lines.append("    created_at timestamptz NOT NULL DEFAULT now()")
    lines.append("    updated_at timestamptz NOT NULL DEFAULT now()")
    table.columns.append(("created_at", "timestamptz"))
    up = f"CREATE TABLE {name} (\n" + ",\n".join(lines) + "\n);\n"
    if parent is not None:
        up += f"\nCREATE INDEX idx_{name}_{parent.name}_id ON {name} ({parent.name}_id);\n"
        table.indexed.add(f"{parent.name}_id")
    up += f"CREATE INDEX idx_{name}_created_at ON {name} (created_at DESC);\n"
    up += f"\nCOMMENT ON TABLE {name} IS 'Created by the {name} feature';\n"
    table.indexed.add("created_at")
    schema.tables.append(table)
    return f"create {name}", up, f"DROP TABLE {name};", False


def _add_column(schema: _Schema) -> tuple[str, str, str, bool]:
    rng = schema.rng
    table = rng.choice(schema.tables)
    col_type, default = rng.choice(COLUMN_TYPES)
    col = schema.unique(rng.choice(ADJECTIVES) + "_" + col_type.split("(")[0])
    if rng.random() < 0.5:
        up = f"ALTER TABLE {table.name} ADD COLUMN {col} {col_type};\n"
    else:
        up = (
            f"ALTER TABLE {table.name}\n"
            f"    ADD COLUMN {col} {col_type} NOT NULL DEFAULT {default};\n"
        )
    if col_type == "text" and rng.random() < 0.4:
        up += (
            f"ALTER TABLE {table.name} ADD CONSTRAINT {table.name}_{col}_length"
            f" CHECK (length({col}) <= 500) NOT VALID;\n"
            f"ALTER TABLE {table.name} VALIDATE CONSTRAINT {table.name}_{col}_length;\n"
        )
    table.columns.append((col, col_type))
    return f"add {col} to {table.name}", up, f"ALTER TABLE {table.name} DROP COLUMN {col};", False


def _index_target(schema: _Schema) -> tuple[_Table, str] | None:
    rng = schema.rng
    for _ in range(20):
        table = rng.choice(schema.tables)
        candidates = [c for c, t in table.columns if c not in table.indexed and t != "jsonb"]
        if candidates:
            return table, rng.choice(candidates)
    return None


def _create_index(schema: _Schema) -> tuple[str, str, str, bool]:
    target = _index_target(schema)
    if target is None:
        return _add_column(schema)
    table, col = target
    table.indexed.add(col)
    index = f"idx_{table.name}_{col}"[:63]
    where = " WHERE created_at > '2023-01-01'" if schema.rng.random() < 0.3 else ""
    up = f"CREATE INDEX {index} ON {table.name} ({col}){where};\n"
    return f"index {table.name} {col}", up, f"DROP INDEX {index};", False


def _concurrent_index(schema: _Schema) -> tuple[str, str, str, bool]:
    target = _index_target(schema)
    if target is None:
        return _add_column(schema)
    table, col = target
    table.indexed.add(col)
    index = f"idx_{table.name}_{col}_c"[:63]
    up = f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {index} ON {table.name} ({col});\n"
    down = f"DROP INDEX CONCURRENTLY IF EXISTS {index};"
    return f"index {table.name} {col} concurrently", up, down, True


def _function_and_trigger(schema: _Schema) -> tuple[str, str, str, bool]:
    rng = schema.rng
    table = rng.choice(schema.tables)
    schema.functions += 1
    fn = f"{table.name}_touch_{schema.functions}"
    trigger = f"trg_{fn}"[:63]
    up = f"""CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed boolean := false;
BEGIN
    -- keep updated_at current; a statement ending in ; inside the body must not split the file
    IF NEW IS DISTINCT FROM OLD THEN
        changed := true;
        NEW.updated_at := now();
    END IF;
    IF NOT changed THEN
        RAISE DEBUG 'no change on % id %', TG_TABLE_NAME, NEW.id;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER {trigger}
    BEFORE UPDATE ON {table.name}
    FOR EACH ROW EXECUTE FUNCTION {fn}();
"""
    if rng.random() < 0.5:
        up += f"""
CREATE FUNCTION {fn}_count(since timestamptz) RETURNS bigint
LANGUAGE sql STABLE AS $body$
    SELECT count(*) FROM {table.name} WHERE created_at >= since;
$body$;
"""
        down = f"DROP FUNCTION {fn}_count(timestamptz);\n"
    else:
        down = ""
    down += f"DROP TRIGGER {trigger} ON {table.name};\nDROP FUNCTION {fn}();"
    return f"touch trigger on {table.name}", up, down, False


def _insert_rows(schema: _Schema) -> tuple[str, str, str, bool]:
    rng = schema.rng
    table = rng.choice(schema.tables)
    tag = schema.unique("seed")
    rows = []
    for number in range(rng.randint(2, 6)):
        rows.append(f"    ('{tag}_{number}', 'Seed row {number} of {table.name}')")
    up = f"INSERT INTO {table.name} (code, name) VALUES\n" + ",\n".join(rows) + ";\n"
    down = f"DELETE FROM {table.name} WHERE code LIKE '{tag}\\_%';"
    return f"seed {table.name} {tag}", up, down, False


def _create_view(schema: _Schema) -> tuple[str, str, str, bool]:
    rng = schema.rng
    schema.views += 1
    children = [
        (t, p)
        for t in schema.tables
        for p in schema.tables
        if (f"{p.name}_id", "bigint") in t.columns
    ]
    view = f"v_report_{schema.views}"
    if children and rng.random() < 0.7:
        child, parent = rng.choice(children)
        up = f"""CREATE VIEW {view} AS
SELECT p.id, p.code, p.name, count(c.id) AS {child.name}_count, max(c.created_at) AS last_at
FROM {parent.name} p
LEFT JOIN {child.name} c ON c.{parent.name}_id = p.id
GROUP BY p.id, p.code, p.name;
"""
    else:
        table = rng.choice(schema.tables)
        up = (
            f"CREATE VIEW {view} AS\nSELECT id, code, name, created_at\nFROM {table.name}\n"
            f"WHERE created_at > now() - interval '30 days';\n"
        )
    return f"report view {schema.views}", up, f"DROP VIEW {view};", False


def rally_text(migration: GeneratedMigration) -> str:
    """The file in rally-gitops format: header, BEGIN/COMMIT, commented rollback section."""
    stamp = dt.datetime.strptime(migration.version, "%Y%m%d_%H%M%S").isoformat()
    header = [
        f"-- Migration: {migration.name}",
        f"-- Description: {migration.description.capitalize()}",
        f"-- Generated: {stamp}",
    ]
    if migration.no_transaction:
        header.append("-- rally:no-transaction")
        body = migration.up
        rollback = migration.down
    else:
        body = f"BEGIN;\n\n{migration.up}\nCOMMIT;\n"
        rollback = f"BEGIN;\n{migration.down}COMMIT;\n"
    commented = "".join(f"-- {line}\n" for line in rollback.splitlines())
    return (
        "\n".join(header)
        + "\n\n"
        + body
        + "\n-- Rollback script (uncomment if needed):\n"
        + commented
    )


def dbmate_text(migration: GeneratedMigration) -> str:
    """The same migration in dbmate format (dbmate wraps each file in its own transaction)."""
    option = " transaction:false" if migration.no_transaction else ""
    return f"-- migrate:up{option}\n{migration.up}\n-- migrate:down{option}\n{migration.down}"


def write_rally(directory: Path, migrations: list[GeneratedMigration]) -> None:
    """``migrations/YYYYMMDD_HHMMSS_slug.sql`` files."""
    directory.mkdir(parents=True, exist_ok=True)
    for migration in migrations:
        (directory / f"{migration.name}.sql").write_text(rally_text(migration))


def write_dbmate(directory: Path, migrations: list[GeneratedMigration]) -> None:
    """``db/migrations/<version>_<slug>.sql`` files (dbmate's version is the leading digits)."""
    directory.mkdir(parents=True, exist_ok=True)
    for migration in migrations:
        version = migration.version.replace("_", "")
        (directory / f"{version}_{migration.slug}.sql").write_text(dbmate_text(migration))
