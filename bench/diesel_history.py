"""Convert a real migration history in diesel's layout into rally's and dbmate's formats.

Diesel (used by LemmyNet/lemmy, whose 342 migrations the benchmarks measure) keeps one directory
per migration, ``migrations/<timestamp>_<name>/up.sql`` and ``down.sql``, with timestamps like
``2019-02-26-002946`` or ``2026-06-02-122008-0000``; each runs in its own transaction unless its
``metadata.toml`` says ``run_in_transaction = false``. This module turns a checkout of such a
history into ``GeneratedMigration`` records (``bench/corpus.py``), which its writers put in
``migrations/YYYYMMDD_HHMMSS_slug.sql`` (rally) and ``db/migrations/<digits>_<slug>.sql``
(dbmate). Nothing of the converted history is committed to this repository.

    .venv/bin/python bench/diesel_history.py /tmp/lemmy OUT   # OUT/migrations, OUT/db/..., all.sql
"""

from __future__ import annotations

import argparse
import re
import tomllib
from dataclasses import replace
from pathlib import Path

from corpus import GeneratedMigration, rally_text, write_dbmate, write_rally

# Lemmy creates pgcrypto only for gen_random_uuid(), core since PostgreSQL 13; the embedded
# server (PostgreSQL 18, which Lemmy's later migrations need) does not ship it
SKIPPED = ("pgcrypto",)
DIESEL_TABLE = (
    "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (\n"
    "    version varchar(50) PRIMARY KEY NOT NULL,\n"
    "    run_on timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP\n);\n"
)
_STAMP = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})-?(\d{6})(?:-\d{4})?_(.+)$")


def version_and_slug(directory: str) -> tuple[str, str]:
    """``2019-02-26-002946_create_user`` → ``("20190226_002946", "create_user")``."""
    match = _STAMP.match(directory)
    if match is None:
        raise SystemExit(f"bench: {directory}: not a diesel migration directory name")
    date, name = "".join(match.groups()[:3]), match[5]
    # diesel's own setup migration is 00000000000000: no calendar date, so the epoch
    version = f"{date if date != '00000000' else '19700101'}_{match[4]}"
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "migration"
    return version, slug


def load(checkout: Path, skip: tuple[str, ...] = SKIPPED) -> list[GeneratedMigration]:
    """Every ``migrations/*/up.sql`` of ``checkout`` (with its ``down.sql``), in version order;
    ``CREATE EXTENSION`` of an extension in ``skip`` is commented out."""
    root = checkout / "migrations"
    if not root.is_dir():
        raise SystemExit(f"bench: {root} does not exist (expected a diesel migrations directory)")
    migrations = []
    for directory in sorted(p for p in root.iterdir() if (p / "up.sql").is_file()):
        version, slug = version_and_slug(directory.name)
        down = directory / "down.sql"
        metadata = directory / "metadata.toml"
        settings = tomllib.loads(metadata.read_text()) if metadata.is_file() else {}
        migrations.append(
            GeneratedMigration(
                version=version,
                slug=slug,
                description=f"lemmy {directory.name}",
                up=_without(skip, _terminated((directory / "up.sql").read_text(encoding="utf-8"))),
                down=down.read_text(encoding="utf-8").rstrip() + "\n" if down.is_file() else "",
                no_transaction=settings.get("run_in_transaction") is False,
            )
        )
    if migrations:  # the table diesel itself creates first, which Lemmy's history refers to
        first = migrations[0]
        migrations[0] = replace(first, up=DIESEL_TABLE + first.up)
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise SystemExit("bench: two migrations of the history share a version")
    return sorted(migrations, key=lambda m: m.version)


def _without(extensions: tuple[str, ...], sql: str) -> str:
    for name in extensions:
        pattern = rf"^(CREATE EXTENSION (IF NOT EXISTS )?\"?{re.escape(name)}\"?[^;]*;)"
        sql = re.sub(pattern, r"-- (skipped by the benchmark) \1", sql, flags=re.I | re.M)
    return sql


def _terminated(sql: str) -> str:
    """``sql`` ending in a semicolon: diesel runs a file as one batch, so its last statement may
    lack one, but in a file that continues (COMMIT, the next migration) it must not."""
    code = [line for line in sql.rstrip().split("\n") if not line.lstrip().startswith("--")]
    text = sql.rstrip() + "\n"
    return text if "\n".join(code).rstrip().endswith(";") else text + ";\n"


def check_rally_files(directory: Path, migrations: list[GeneratedMigration]) -> None:
    """Every converted file parses and its up part holds the whole original ``up.sql`` (a line
    of the history that looks like rally's rollback marker would cut it short)."""
    from rally_gitops.files.migrations import parse

    for migration in migrations:
        parsed = parse(directory / f"{migration.name}.sql")
        if migration.up.strip() not in parsed.up:
            raise SystemExit(f"bench: {migration.name}: its up part was cut short by rally")


def all_sql(migrations: list[GeneratedMigration]) -> str:
    """The whole history as one script, for ``psql -1 -f`` (the server's own cost)."""
    return "".join(f"-- {m.name}\n{m.up}\n" for m in migrations)


def main(argv: list[str] | None = None) -> int:
    """Write OUT/migrations (rally), OUT/db/migrations (dbmate) and OUT/all.sql."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkout", type=Path, help="a checkout holding migrations/*/up.sql")
    parser.add_argument("out", type=Path, help="directory to write the converted history to")
    args = parser.parse_args(argv)
    migrations = load(args.checkout)
    write_rally(args.out / "migrations", migrations)
    write_dbmate(args.out / "db" / "migrations", migrations)
    (args.out / "all.sql").write_text(all_sql(migrations))
    check_rally_files(args.out / "migrations", migrations)
    no_tx = sum(m.no_transaction for m in migrations)
    size = sum(len(rally_text(m)) for m in migrations)
    print(f"{len(migrations)} migrations ({no_tx} no-transaction, {size:,} bytes) in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
