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


# --- Prisma-shaped histories -----------------------------------------------------------------
# What `prisma migrate dev` writes: quoted "CamelCase" names, TEXT ids with "X_pkey" constraints,
# TIMESTAMP(3), DECIMAL(65,30), `-- CreateTable` comments, foreign keys added after the tables,
# enum changes as "_new"/"_old" swaps, `SET DATA TYPE`, and now and then a hand-written
# CREATE INDEX CONCURRENTLY in a no-transaction file. Three real histories of this shape (163,
# 167 and 820 files) are what issue 8 measured.
PRISMA_MODELS = (
    "User Team Player Match Venue Season League Ticket Invoice Payment Coupon Notification Device "
    "Session Badge Tournament Sponsor Contract Coach Report Comment Reaction Upload Photo Stream "
    "Channel Message Thread Subscription Plan Feature Audit Export Webhook Region Address"
).split()
PRISMA_FIELDS = (
    ("TEXT", None), ("INTEGER", "0"), ("BOOLEAN", "false"), ("TIMESTAMP(3)", "CURRENT_TIMESTAMP"),
    ("DECIMAL(65,30)", None), ("JSONB", None), ("DOUBLE PRECISION", None), ("VARCHAR(191)", None),
)  # fmt: skip


@dataclass
class _Model:
    name: str
    fields: dict[str, str] = field(default_factory=dict)  # "fieldName" → type
    enum: str | None = None  # the model's enum-typed "status" field's type
    fks: list[str] = field(default_factory=list)


class _PrismaSchema:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.models: list[_Model] = []
        self.enums: dict[str, list[str]] = {}
        self.seq = 0

    def fresh(self, base: str) -> str:
        self.seq += 1
        return f"{base}{self.seq}"


def generate_prisma(count: int = 820, seed: int = 1729) -> list[GeneratedMigration]:
    """``count`` migrations shaped like ``prisma migrate``'s output (see PRISMA_MODELS)."""
    rng = random.Random(seed)
    schema = _PrismaSchema(rng)
    when = dt.datetime(2022, 3, 1, 10, 0, 0)
    kinds = (
        (0.20, _prisma_model), (0.42, _prisma_add_field), (0.52, _prisma_index),
        (0.60, _prisma_enum_swap), (0.66, _prisma_enum_value), (0.73, _prisma_retype),
        (0.80, _prisma_foreign_key), (0.86, _prisma_drop), (0.92, _prisma_concurrent),
        (1.0, _prisma_required),
    )  # fmt: skip
    result = []
    for index in range(count):
        when += dt.timedelta(minutes=rng.randint(30, 2000), seconds=rng.randint(0, 59))
        roll = rng.random()
        kind = next(k for t, k in kinds if roll < t) if len(schema.models) >= 3 else _prisma_model
        if index % 11 == 0:
            kind = _prisma_model
        description, up, no_tx = kind(schema)
        slug = "_".join(description.lower().split())[:60].strip("_")
        result.append(
            GeneratedMigration(
                when.strftime("%Y%m%d_%H%M%S"),
                slug,
                description,
                up.strip() + "\n",
                "SELECT 'prisma writes no down migration';\n",
                no_tx,
            )  # fmt: skip
        )
    return result


def _prisma_model(schema: _PrismaSchema) -> tuple[str, str, bool]:
    rng = schema.rng
    base = rng.choice(PRISMA_MODELS)
    name = base if base not in {m.name for m in schema.models} else schema.fresh(base)
    model = _Model(name, {"id": "TEXT"})
    up = ""
    if rng.random() < 0.4:
        enum = f"{name}Status"
        schema.enums[enum] = ["ACTIVE", "ARCHIVED"]
        up += f"-- CreateEnum\nCREATE TYPE \"{enum}\" AS ENUM ('ACTIVE', 'ARCHIVED');\n\n"
        model.enum = enum
    lines = ['    "id" TEXT NOT NULL']
    for _ in range(rng.randint(2, 6)):
        sql_type, default = rng.choice(PRISMA_FIELDS)
        column = schema.fresh(rng.choice(["title", "label", "amount", "score", "note", "meta"]))
        model.fields[column] = sql_type
        suffix = f" NOT NULL DEFAULT {default}" if default else ""
        lines.append(f'    "{column}" {sql_type}{suffix}')
    if model.enum:
        lines.append(f'    "status" "{model.enum}" NOT NULL DEFAULT \'ACTIVE\'')
        model.fields["status"] = model.enum
    lines += [
        '    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP',
        '    "updatedAt" TIMESTAMP(3) NOT NULL',
    ]
    model.fields.update({"createdAt": "TIMESTAMP(3)", "updatedAt": "TIMESTAMP(3)"})
    up += f'-- CreateTable\nCREATE TABLE "{name}" (\n' + ",\n".join(lines)
    up += f',\n\n    CONSTRAINT "{name}_pkey" PRIMARY KEY ("id")\n);\n'
    if schema.models and rng.random() < 0.6:
        parent = rng.choice(schema.models)
        column = f"{parent.name[0].lower()}{parent.name[1:]}Id"
        up = up.replace('    "createdAt"', f'    "{column}" TEXT NOT NULL,\n    "createdAt"', 1)
        model.fields[column] = "TEXT"
        up += (
            f'\n-- CreateIndex\nCREATE INDEX "{name}_{column}_idx" ON "{name}"("{column}");\n'
            f'\n-- AddForeignKey\nALTER TABLE "{name}" ADD CONSTRAINT "{name}_{column}_fkey" '
            f'FOREIGN KEY ("{column}") REFERENCES "{parent.name}"("id") '
            "ON DELETE RESTRICT ON UPDATE CASCADE;\n"
        )
        model.fks.append(f"{name}_{column}_fkey")
    schema.models.append(model)
    return f"create {name}", up, False


def _prisma_add_field(schema: _PrismaSchema) -> tuple[str, str, bool]:
    rng = schema.rng
    model = rng.choice(schema.models)
    sql_type, _ = rng.choice(PRISMA_FIELDS)
    column = schema.fresh(rng.choice(["extra", "flag", "count", "label", "price"]))
    model.fields[column] = sql_type
    up = f'-- AlterTable\nALTER TABLE "{model.name}" ADD COLUMN "{column}" {sql_type};\n'
    return f"add {column} to {model.name}", up, False


def _prisma_required(schema: _PrismaSchema) -> tuple[str, str, bool]:
    model = schema.rng.choice(schema.models)
    column = schema.fresh("required")
    model.fields[column] = "TEXT"
    up = (
        "/*\n  Warnings:\n\n  - Added the required column `" + column + "` to the `"
        + model.name + "` table without a default value. This is not possible if the table is "
        "not empty.\n\n*/\n"
        f'-- AlterTable\nALTER TABLE "{model.name}" ADD COLUMN "{column}" TEXT NOT NULL;\n'
    )  # fmt: skip
    return f"require {column} on {model.name}", up, False


def _prisma_index(schema: _PrismaSchema) -> tuple[str, str, bool]:
    model = schema.rng.choice(schema.models)
    column = schema.rng.choice(list(model.fields))
    unique = schema.rng.random() < 0.3
    index = f"{model.name}_{column}_{'key' if unique else 'idx'}"
    up = (
        f'-- CreateIndex\nCREATE {"UNIQUE " if unique else ""}INDEX "{index}" '
        f'ON "{model.name}"("{column}");\n'
    )
    return f"index {model.name} {column}", up, False


def _prisma_concurrent(schema: _PrismaSchema) -> tuple[str, str, bool]:
    model = schema.rng.choice(schema.models)
    column = schema.rng.choice(list(model.fields))
    index = schema.fresh(f"{model.name}_{column}_c")
    up = f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{index}" ON "{model.name}"("{column}");\n'
    return f"index {model.name} {column} concurrently", up, True


def _prisma_enum_swap(schema: _PrismaSchema) -> tuple[str, str, bool]:
    with_enum = [m for m in schema.models if m.enum]
    if not with_enum:
        return _prisma_add_field(schema)
    model = schema.rng.choice(with_enum)
    enum = model.enum or ""
    values = [v for v in schema.enums[enum] if schema.rng.random() < 0.8] or ["ACTIVE"]
    values.append(schema.fresh("STATE"))
    schema.enums[enum] = values
    quoted = ", ".join(f"'{v}'" for v in values)
    # prisma wraps the swap in BEGIN/COMMIT; the rally file is one transaction already
    up = (
        "/*\n  Warnings:\n\n  - The values of the enum `" + enum + "` will change.\n\n*/\n"
        f'-- AlterEnum\nCREATE TYPE "{enum}_new" AS ENUM ({quoted});\n'
        f'ALTER TABLE "{model.name}" ALTER COLUMN "status" DROP DEFAULT;\n'
        f'ALTER TABLE "{model.name}" ALTER COLUMN "status" TYPE "{enum}_new" '
        f'USING ("status"::text::"{enum}_new");\n'
        f'ALTER TYPE "{enum}" RENAME TO "{enum}_old";\n'
        f'ALTER TYPE "{enum}_new" RENAME TO "{enum}";\n'
        f'DROP TYPE "{enum}_old";\n'
        f'ALTER TABLE "{model.name}" ALTER COLUMN "status" SET DEFAULT \'{values[0]}\';\n'
    )  # fmt: skip
    return f"change enum {enum}", up, False


def _prisma_enum_value(schema: _PrismaSchema) -> tuple[str, str, bool]:
    if not schema.enums:
        return _prisma_add_field(schema)
    enum = schema.rng.choice(sorted(schema.enums))
    value = schema.fresh("EXTRA")
    schema.enums[enum].append(value)
    return (
        f"add {value} to {enum}",
        f"-- AlterEnum\nALTER TYPE \"{enum}\" ADD VALUE '{value}';\n",
        False,
    )


def _prisma_retype(schema: _PrismaSchema) -> tuple[str, str, bool]:
    rng = schema.rng
    model = rng.choice(schema.models)
    candidates = [c for c, t in model.fields.items() if t in ("INTEGER", "VARCHAR(191)", "TEXT")]
    if not candidates:
        return _prisma_add_field(schema)
    column = rng.choice(candidates)
    target = {"INTEGER": "DECIMAL(65,30)", "VARCHAR(191)": "TEXT", "TEXT": "VARCHAR(191)"}[
        model.fields[column]
    ]
    model.fields[column] = target
    up = (
        f'-- AlterTable\nALTER TABLE "{model.name}" ALTER COLUMN "{column}" '
        f"SET DATA TYPE {target};\n"
    )
    return f"retype {model.name} {column}", up, False


def _prisma_foreign_key(schema: _PrismaSchema) -> tuple[str, str, bool]:
    rng = schema.rng
    child, parent = rng.choice(schema.models), rng.choice(schema.models)
    column = schema.fresh(f"{parent.name[0].lower()}{parent.name[1:]}Ref")
    child.fields[column] = "TEXT"
    fk = f"{child.name}_{column}_fkey"
    child.fks.append(fk)
    up = (
        f'-- AlterTable\nALTER TABLE "{child.name}" ADD COLUMN "{column}" TEXT;\n\n'
        f'-- AddForeignKey\nALTER TABLE "{child.name}" ADD CONSTRAINT "{fk}" FOREIGN KEY '
        f'("{column}") REFERENCES "{parent.name}"("id") ON DELETE SET NULL ON UPDATE CASCADE;\n'
    )
    return f"link {child.name} to {parent.name}", up, False


def _prisma_drop(schema: _PrismaSchema) -> tuple[str, str, bool]:
    rng = schema.rng
    model = rng.choice(schema.models)
    if model.fks and rng.random() < 0.5:
        fk = model.fks.pop()
        up = f'-- DropForeignKey\nALTER TABLE "{model.name}" DROP CONSTRAINT "{fk}";\n'
        return f"drop {fk}", up, False
    if rng.random() < 0.3:
        # a changed @@id: prisma drops and re-adds the primary key in one ALTER TABLE
        up = (
            f'-- AlterTable\nALTER TABLE "{model.name}" DROP CONSTRAINT "{model.name}_pkey",\n'
            f'ADD CONSTRAINT "{model.name}_pkey" PRIMARY KEY ("id", "createdAt");\n'
        )
        return f"change primary key of {model.name}", up, False
    droppable = [c for c in model.fields if c not in ("id", "createdAt", "updatedAt", "status")]
    if not droppable:
        return _prisma_add_field(schema)
    column = rng.choice(droppable)
    del model.fields[column]
    up = (
        "/*\n  Warnings:\n\n  - You are about to drop the column `" + column + "` on the `"
        + model.name + "` table. All the data in the column will be lost.\n\n*/\n"
        f'-- AlterTable\nALTER TABLE "{model.name}" DROP COLUMN "{column}";\n'
    )  # fmt: skip
    return f"drop {column} from {model.name}", up, False


def rally_text(migration: GeneratedMigration) -> str:
    """The file in rally-gitops format: header, BEGIN/COMMIT, commented rollback section."""
    try:
        stamp = dt.datetime.strptime(migration.version, "%Y%m%d_%H%M%S").isoformat()
    except ValueError:  # a real history's timestamp need not be a valid time (second 60+)
        stamp = migration.version
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
