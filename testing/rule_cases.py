"""The rule cases of the linter's tests: SQL each rule must flag and SQL it must pass, and
helpers that lint one body as a real migration file (squawk's ok/err style)."""

from __future__ import annotations

from pathlib import Path

from rally_gitops.files import migrations
from rally_gitops.lint.model import FileContext, Violation
from rally_gitops.lint.parsing import analyse
from rally_gitops.lint.rules import load_all

RULES = load_all()

BY_CODE = {rule.code: rule for rule in RULES}
NO_TX = "-- rally:no-transaction\n"


def write_migration(tmp_path: Path, body: str) -> migrations.Migration:
    """A real migration file around ``body``; a body starting with ``-- rally:no-transaction``
    makes a no-transaction file, any other is wrapped in BEGIN/COMMIT."""
    header = "-- Migration: 20240101_000000_t\n-- Description: rule test\n"
    text = header + (body if body.startswith(NO_TX) else f"BEGIN;\n{body}\nCOMMIT;") + "\n"
    path = tmp_path / "20240101_000000_t.sql"
    path.write_text(text, encoding="utf-8")
    return migrations.parse(path)


def check(
    tmp_path: Path, code: str, body: str, *, pg_version: int = 16, drop: str | None = None
) -> list[Violation]:
    """Run one rule over ``body``; ``drop`` removes one AST ("sqlglot" or "pg") first."""
    migration = write_migration(tmp_path, body)
    statements = analyse(migration)
    if drop:
        for st in statements:
            setattr(st, drop, None)
    ctx = FileContext(migration, statements, pg_version=pg_version)
    return list(BY_CODE[code].function(ctx))


def body_line(violation: Violation, body: str) -> int:
    """The line of a finding within ``body`` (as ``write_migration`` placed it: after the two
    header lines, and after ``BEGIN;`` unless the body is a no-transaction one)."""
    line = violation.statement.line + violation.line_offset
    return line - 2 - (0 if body.startswith(NO_TX) else 1)


# (code, body, the body line of each finding: one entry per finding)
FLAG: list[tuple[str, str, tuple[int, ...]]] = [
    ("require-concurrent-index", "CREATE INDEX users_email_idx ON users (email);", (1,)),
    ("require-concurrent-index", "CREATE UNIQUE INDEX ON public.users (lower(email));", (1,)),
    ("require-concurrent-index", NO_TX + "CREATE INDEX users_email_idx ON users (email);", (2,)),
    ("require-concurrent-index", "CREATE INDEX i ON users (email) NULLS NOT DISTINCT;", (1,)),
    ("require-concurrent-index-drop", "DROP INDEX users_email_idx;", (1,)),
    ("require-concurrent-index-drop", "DROP INDEX IF EXISTS a_idx, b_idx;", (1,)),
    ("ban-concurrently-in-transaction", "CREATE INDEX CONCURRENTLY i ON users (email);", (1,)),
    ("ban-concurrently-in-transaction", "DROP INDEX CONCURRENTLY users_email_idx;", (1,)),
    ("ban-concurrently-in-transaction", "REINDEX INDEX CONCURRENTLY users_email_idx;", (1,)),
    (
        "ban-concurrently-in-transaction",
        "ALTER TABLE events DETACH PARTITION e1 CONCURRENTLY;",
        (1,),
    ),
    ("require-concurrent-reindex", "REINDEX TABLE users;", (1,)),
    ("require-concurrent-reindex", NO_TX + "REINDEX INDEX users_email_idx;", (2,)),
    ("require-concurrent-refresh", "REFRESH MATERIALIZED VIEW standings;", (1,)),
    (
        "require-not-valid-foreign-key",
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id);",
        (1,),
    ),
    (
        "require-not-valid-foreign-key",
        "ALTER TABLE orders ADD FOREIGN KEY (u) REFERENCES users;",
        (1,),
    ),
    (
        "require-not-valid-foreign-key",
        "ALTER TABLE orders ADD COLUMN u bigint REFERENCES users;",
        (1,),
    ),
    ("require-not-valid-check", "ALTER TABLE users ADD CONSTRAINT c CHECK (age >= 0);", (1,)),
    ("require-not-valid-check", "ALTER TABLE users ADD CHECK (age >= 0);", (1,)),
    (
        "validate-in-same-transaction",
        "ALTER TABLE users ADD CONSTRAINT c CHECK (age >= 0) NOT VALID;\n"
        "ALTER TABLE users VALIDATE CONSTRAINT c;",
        (2,),
    ),
    (
        "validate-in-same-transaction",
        "ALTER TABLE o ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users NOT VALID;\n"
        "ALTER TABLE o VALIDATE CONSTRAINT fk;",
        (2,),
    ),
    (
        "ban-alter-domain-add-constraint",
        "ALTER DOMAIN score ADD CONSTRAINT p CHECK (VALUE > 0);",
        (1,),
    ),
    ("setting-not-null", "ALTER TABLE users ALTER COLUMN email SET NOT NULL;", (1,)),
    (
        "setting-not-null",
        "ALTER TABLE users VALIDATE CONSTRAINT users_team_fk;\n"
        "ALTER TABLE users ALTER COLUMN team_id SET NOT NULL;",
        (2,),
    ),
    (
        "setting-not-null",
        "ALTER TABLE users ADD CONSTRAINT nn CHECK (email IS NOT NULL) NOT VALID;\n"
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        (2,),
    ),
    (
        "setting-not-null",
        "ALTER TABLE ONLY users ALTER email SET NOT NULL, ALTER x DROP DEFAULT;",
        (1,),
    ),
    ("adding-unique-constraint", "ALTER TABLE users ADD CONSTRAINT u UNIQUE (email);", (1,)),
    ("adding-unique-constraint", "ALTER TABLE users ADD COLUMN handle text UNIQUE;", (1,)),
    ("adding-primary-key-constraint", "ALTER TABLE items ADD PRIMARY KEY (id);", (1,)),
    ("adding-primary-key-constraint", "ALTER TABLE items ADD COLUMN id bigint PRIMARY KEY;", (1,)),
    (
        "adding-exclusion-constraint",
        "ALTER TABLE b ADD CONSTRAINT x EXCLUDE USING gist (room WITH =, during WITH &&);",
        (1,),
    ),
    ("adding-required-field", "ALTER TABLE users ADD COLUMN country text NOT NULL;", (1,)),
    (
        "adding-required-field",
        "ALTER TABLE users ADD COLUMN a int, ADD COLUMN b int NOT NULL;",
        (1,),
    ),
    (
        "adding-volatile-default",
        "ALTER TABLE users ADD COLUMN t uuid DEFAULT gen_random_uuid();",
        (1,),
    ),
    ("adding-volatile-default", "ALTER TABLE users ADD COLUMN r float8 DEFAULT random();", (1,)),
    (
        "adding-volatile-default",
        "ALTER TABLE users ADD COLUMN s text NOT NULL DEFAULT md5(random()::text);",
        (1,),
    ),
    (
        "adding-volatile-default",
        "ALTER TABLE users ADD COLUMN c timestamptz DEFAULT clock_timestamp(), "
        "ADD CONSTRAINT x UNIQUE USING INDEX i;",
        (1,),
    ),
    (
        "adding-volatile-default",
        "ALTER TABLE users ADD COLUMN n bigint DEFAULT nextval('s');",
        (1,),
    ),
    ("adding-serial-column", "ALTER TABLE events ADD COLUMN seq bigserial;", (1,)),
    ("adding-serial-column", "ALTER TABLE events ADD COLUMN seq serial NOT NULL;", (1,)),
    (
        "adding-serial-column",
        "ALTER TABLE events ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;",
        (1,),
    ),
    (
        "adding-stored-generated-column",
        "ALTER TABLE users ADD COLUMN e text GENERATED ALWAYS AS (lower(email)) STORED;",
        (1,),
    ),
    ("changing-column-type", "ALTER TABLE users ALTER COLUMN id TYPE bigint;", (1,)),
    ("changing-column-type", "ALTER TABLE users ALTER COLUMN n TYPE text USING n::text;", (1,)),
    ("changing-column-type", "ALTER TABLE users ALTER COLUMN at SET DATA TYPE timestamptz;", (1,)),
    (
        "changing-column-type-widening",
        "ALTER TABLE users ALTER COLUMN name TYPE varchar(200);",
        (1,),
    ),
    ("changing-column-type-widening", "ALTER TABLE users ALTER COLUMN name TYPE text;", (1,)),
    (
        "changing-column-type-widening",
        "ALTER TABLE p ALTER COLUMN amount TYPE numeric(14, 2);",
        (1,),
    ),
    ("rewriting-table", "ALTER TABLE events SET TABLESPACE fast;", (1,)),
    ("rewriting-table", "ALTER TABLE events SET LOGGED;", (1,)),
    ("rewriting-table", "ALTER TABLE events SET UNLOGGED;", (1,)),
    ("rewriting-table", "ALTER TABLE events SET ACCESS METHOD heap;", (1,)),
    ("ban-vacuum-full", NO_TX + "VACUUM FULL users;", (2,)),
    ("ban-vacuum-full", NO_TX + "VACUUM (FULL, ANALYZE) users;", (2,)),
    ("ban-cluster", "CLUSTER matches USING matches_scheduled_at_idx;", (1,)),
    ("ban-cluster", "CLUSTER matches;", (1,)),
    ("ban-lock-table", "LOCK TABLE users;", (1,)),
    ("ban-lock-table", "LOCK users, teams IN EXCLUSIVE MODE;", (1,)),
    ("ban-drop-table", "DROP TABLE user_preferences;", (1,)),
    ("ban-drop-table", "DROP TABLE IF EXISTS a, b CASCADE;", (1,)),
    ("ban-drop-column", "ALTER TABLE users DROP COLUMN last_seen_at;", (1,)),
    ("ban-drop-column", "ALTER TABLE ONLY users DROP COLUMN IF EXISTS a CASCADE, DROP b;", (1, 1)),
    ("ban-drop-schema", "DROP SCHEMA reporting CASCADE;", (1,)),
    ("ban-drop-schema", "DROP SCHEMA IF EXISTS a, b CASCADE;", (1,)),
    ("ban-drop-type", "DROP TYPE match_status;", (1,)),
    ("ban-drop-type", "DROP TYPE IF EXISTS a, b CASCADE;", (1,)),
    ("ban-drop-type", "DROP DOMAIN score;", (1,)),
    ("ban-drop-view", "DROP VIEW active_users;", (1,)),
    ("ban-drop-view", "DROP MATERIALIZED VIEW IF EXISTS standings;", (1,)),
    ("ban-drop-view", "DROP VIEW v;\nCREATE TABLE v (id bigint);", (1,)),
    ("ban-drop-database", NO_TX + "DROP DATABASE rally_old;", (2,)),
    ("ban-drop-database", NO_TX + "DROP DATABASE IF EXISTS rally_old WITH (FORCE);", (2,)),
    ("ban-drop-function", "DROP FUNCTION touch_updated_at();", (1,)),
    ("ban-drop-function", "DROP PROCEDURE IF EXISTS s.p(int), q;", (1,)),
    (
        "ban-drop-function",
        NO_TX + "DROP FUNCTION f();\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';",
        (2,),
    ),
    ("ban-drop-sequence", "DROP SEQUENCE invoice_number_seq;", (1,)),
    ("ban-drop-sequence", "DROP SEQUENCE IF EXISTS billing.a_seq, b_seq CASCADE;", (1,)),
    ("ban-drop-default", "ALTER TABLE users ALTER COLUMN created_at DROP DEFAULT;", (1,)),
    ("ban-drop-constraint", "ALTER TABLE users DROP CONSTRAINT users_email_check;", (1,)),
    ("ban-drop-constraint", "ALTER TABLE users DROP CONSTRAINT IF EXISTS c CASCADE;", (1,)),
    ("renaming-object", "ALTER VIEW active_users RENAME TO recent_users;", (1,)),
    ("renaming-object", "ALTER MATERIALIZED VIEW s.m RENAME TO n;", (1,)),
    ("renaming-object", "ALTER FUNCTION f(int) RENAME TO g;", (1,)),
    ("renaming-object", "ALTER TYPE mood RENAME TO feeling;", (1,)),
    ("renaming-object", "ALTER SEQUENCE s RENAME TO t;", (1,)),
    ("ban-truncate", "TRUNCATE match_participants;", (1,)),
    ("ban-truncate", "TRUNCATE TABLE ONLY a, b RESTART IDENTITY CASCADE;", (1,)),
    ("unbatched-data-change", "UPDATE users SET display_name = email;", (1,)),
    ("unbatched-data-change", "DELETE FROM users;", (1,)),
    ("unbatched-data-change", "UPDATE users u SET team_id = t.id FROM teams t;", (1,)),
    ("unbatched-data-change", "WITH x AS (SELECT 1) DELETE FROM ONLY users;", (1,)),
    ("renaming-table", "ALTER TABLE users RENAME TO accounts;", (1,)),
    ("renaming-table", "ALTER TABLE IF EXISTS public.users RENAME TO accounts;", (1,)),
    ("renaming-column", "ALTER TABLE users RENAME COLUMN display_name TO full_name;", (1,)),
    ("renaming-column", "ALTER TABLE users RENAME display_name TO full_name;", (1,)),
    ("renaming-schema", "ALTER SCHEMA reporting RENAME TO analytics;", (1,)),
    ("renaming-enum-value", "ALTER TYPE match_status RENAME VALUE 'live' TO 'playing';", (1,)),
    ("ban-drop-not-null", "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;", (1,)),
    (
        "enum-value-used-in-transaction",
        "ALTER TYPE match_status ADD VALUE 'postponed';\n"
        "UPDATE matches SET status = 'postponed' WHERE id = 1;",
        (2,),
    ),
    (
        "enum-value-used-in-transaction",
        "ALTER TYPE s ADD VALUE IF NOT EXISTS 'x' BEFORE 'a';\n"
        "ALTER TABLE t ALTER COLUMN st SET DEFAULT 'x';",
        (2,),
    ),
    ("identifier-too-long", "CREATE TABLE " + "t" * 64 + " (id bigint);", (1,)),
    ("identifier-too-long", 'ALTER TABLE t ADD COLUMN "' + "é" * 32 + '" int;', (1,)),
    (
        "identifier-too-long",
        "CREATE TABLE x (j jsonb COMPRESSION lz4, " + "c" * 70 + " int);",
        (1,),
    ),
    ("prefer-jsonb", "CREATE TABLE audit (id bigint, payload json);", (1,)),
    ("prefer-jsonb", "ALTER TABLE audit ADD COLUMN payloads json[];", (1,)),
    ("prefer-jsonb", "CREATE TEMP TABLE t (j json) ON COMMIT DROP;", (1,)),
    ("prefer-jsonb", "ALTER TABLE audit ALTER COLUMN payload TYPE json;", (1,)),
    ("prefer-bigint", "CREATE TABLE teams (id integer PRIMARY KEY);", (1,)),
    ("prefer-bigint", "CREATE TABLE m (team_id smallint);", (1,)),
    ("prefer-bigint", "CREATE TABLE m (id serial);", (1,)),
    ("prefer-identity", "CREATE TABLE teams (id bigserial PRIMARY KEY);", (1,)),
    ("prefer-identity", "ALTER TABLE teams ADD COLUMN n smallserial;", (1,)),
    ("prefer-timestamptz", "CREATE TABLE e (at timestamp);", (1,)),
    ("prefer-timestamptz", "CREATE TABLE e (at timestamp(3) without time zone);", (1,)),
    ("prefer-text", "CREATE TABLE u (email varchar(255));", (1,)),
    ("prefer-text", "CREATE TABLE u (code char(2));", (1,)),
    ("prefer-text", "CREATE TABLE u (code character varying(2));", (1,)),
]

OK: list[tuple[str, str]] = [
    (
        "require-concurrent-index",
        NO_TX + "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
    ),
    ("require-concurrent-index", "CREATE TABLE t (a int);\nCREATE INDEX t_a_idx ON t (a);"),
    ("require-concurrent-index", "CREATE TABLE s.t (a int);\nCREATE INDEX t_a_idx ON s.t (a);"),
    ("require-concurrent-index", "CREATE TABLE t AS SELECT 1 AS a;\nCREATE INDEX ON t (a);"),
    (
        "require-concurrent-index",
        "CREATE MATERIALIZED VIEW m AS SELECT 1 AS a;\nCREATE UNIQUE INDEX ON m (a);",
    ),
    ("require-concurrent-index", "CREATE INDEX events_at_idx ON ONLY events (at);"),
    ("require-concurrent-index-drop", NO_TX + "DROP INDEX CONCURRENTLY users_email_idx;"),
    ("require-concurrent-index-drop", "CREATE INDEX tmp_idx ON t (a);\nDROP INDEX tmp_idx;"),
    ("require-concurrent-index-drop", "DROP TABLE IF EXISTS scratch;"),
    ("ban-concurrently-in-transaction", NO_TX + "CREATE INDEX CONCURRENTLY i ON users (e);"),
    ("ban-concurrently-in-transaction", NO_TX + "REINDEX TABLE CONCURRENTLY users;"),
    ("ban-concurrently-in-transaction", "REFRESH MATERIALIZED VIEW CONCURRENTLY standings;"),
    ("require-concurrent-reindex", NO_TX + "REINDEX TABLE CONCURRENTLY users;"),
    ("require-concurrent-refresh", "REFRESH MATERIALIZED VIEW CONCURRENTLY standings;"),
    ("require-concurrent-refresh", "REFRESH MATERIALIZED VIEW standings WITH NO DATA;"),
    (
        "require-concurrent-refresh",
        "CREATE MATERIALIZED VIEW m AS SELECT 1 WITH NO DATA;\nREFRESH MATERIALIZED VIEW m;",
    ),
    (
        "require-not-valid-foreign-key",
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id) NOT VALID;",
    ),
    ("require-not-valid-foreign-key", "ALTER TABLE orders VALIDATE CONSTRAINT fk;"),
    ("require-not-valid-foreign-key", "CREATE TABLE o (u bigint REFERENCES users (id));"),
    (
        "require-not-valid-foreign-key",
        "CREATE TABLE o (u bigint);\nALTER TABLE o ADD FOREIGN KEY (u) REFERENCES users;",
    ),
    ("require-not-valid-check", "ALTER TABLE users ADD CONSTRAINT c CHECK (a > 0) NOT VALID;"),
    ("require-not-valid-check", "CREATE TABLE n (a int);\nALTER TABLE n ADD CHECK (a > 0);"),
    (
        "validate-in-same-transaction",
        "ALTER TABLE users ADD CONSTRAINT c CHECK (age >= 0) NOT VALID;",
    ),
    ("validate-in-same-transaction", "ALTER TABLE users VALIDATE CONSTRAINT c;"),
    (
        "validate-in-same-transaction",
        NO_TX + "ALTER TABLE users ADD CONSTRAINT c CHECK (age >= 0) NOT VALID;\n"
        "ALTER TABLE users VALIDATE CONSTRAINT c;",
    ),
    (
        "ban-alter-domain-add-constraint",
        "ALTER DOMAIN score ADD CONSTRAINT p CHECK (VALUE > 0) NOT VALID;",
    ),
    ("ban-alter-domain-add-constraint", "CREATE DOMAIN score AS int CHECK (VALUE >= 0);"),
    ("setting-not-null", "CREATE TABLE n (a int);\nALTER TABLE n ALTER COLUMN a SET NOT NULL;"),
    (
        "setting-not-null",
        "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL);\n"
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
    ),
    (
        "setting-not-null",
        "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;",
    ),
    ("setting-not-null", "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;"),
    ("adding-unique-constraint", "ALTER TABLE users ADD CONSTRAINT u UNIQUE USING INDEX u_idx;"),
    ("adding-unique-constraint", "CREATE TABLE n (a int);\nALTER TABLE n ADD UNIQUE (a);"),
    ("adding-unique-constraint", "CREATE TABLE n (a int UNIQUE);"),
    (
        "adding-primary-key-constraint",
        "ALTER TABLE items ADD CONSTRAINT items_pkey PRIMARY KEY USING INDEX items_id_idx;",
    ),
    ("adding-primary-key-constraint", "CREATE TABLE n (id bigint PRIMARY KEY);"),
    (
        "adding-exclusion-constraint",
        "CREATE TABLE b (r int, d tstzrange, EXCLUDE USING gist (r WITH =, d WITH &&));",
    ),
    ("adding-required-field", "ALTER TABLE users ADD COLUMN c text NOT NULL DEFAULT 'x';"),
    ("adding-required-field", "ALTER TABLE users ADD COLUMN c text;"),
    ("adding-required-field", "ALTER TABLE users ADD COLUMN c bigserial NOT NULL;"),
    (
        "adding-required-field",
        "ALTER TABLE users ADD COLUMN c bigint NOT NULL GENERATED ALWAYS AS IDENTITY;",
    ),
    ("adding-required-field", "CREATE TABLE n (a int NOT NULL);"),
    ("adding-volatile-default", "ALTER TABLE users ADD COLUMN c timestamptz DEFAULT now();"),
    (
        "adding-volatile-default",
        "ALTER TABLE users ADD COLUMN c timestamptz NOT NULL DEFAULT current_timestamp;",
    ),
    ("adding-volatile-default", "ALTER TABLE users ADD COLUMN c jsonb DEFAULT '{}'::jsonb;"),
    ("adding-volatile-default", "ALTER TABLE users ALTER COLUMN t SET DEFAULT gen_random_uuid();"),
    ("adding-volatile-default", "CREATE TABLE n (id uuid DEFAULT gen_random_uuid());"),
    ("adding-serial-column", "CREATE TABLE n (id bigserial);"),
    ("adding-serial-column", "ALTER TABLE events ADD COLUMN seq bigint;"),
    (
        "adding-stored-generated-column",
        "ALTER TABLE users ADD COLUMN e text GENERATED ALWAYS AS (lower(email)) VIRTUAL;",
    ),
    (
        "adding-stored-generated-column",
        "CREATE TABLE n (a int, b int GENERATED ALWAYS AS (a * 2) STORED);",
    ),
    ("changing-column-type", "ALTER TABLE users ALTER COLUMN name TYPE varchar(200);"),
    ("changing-column-type", "ALTER TABLE users ALTER COLUMN name TYPE text;"),
    ("changing-column-type", "CREATE TABLE n (a int);\nALTER TABLE n ALTER COLUMN a TYPE bigint;"),
    ("changing-column-type-widening", "ALTER TABLE users ALTER COLUMN id TYPE bigint;"),
    ("changing-column-type-widening", "ALTER TABLE u ALTER COLUMN n TYPE text USING n::text;"),
    ("rewriting-table", "ALTER TABLE events SET (fillfactor = 90);"),
    ("rewriting-table", "CREATE TABLE n (a int);\nALTER TABLE n SET UNLOGGED;"),
    ("rewriting-table", "ALTER INDEX events_at_idx SET TABLESPACE fast;"),
    ("ban-vacuum-full", NO_TX + "VACUUM (ANALYZE) users;"),
    ("ban-vacuum-full", NO_TX + "VACUUM (FULL false) users;"),
    ("ban-vacuum-full", NO_TX + "ANALYZE users;"),
    ("ban-cluster", "ALTER TABLE matches CLUSTER ON matches_scheduled_at_idx;"),
    ("ban-lock-table", "LOCK TABLE users IN SHARE UPDATE EXCLUSIVE MODE;"),
    ("ban-lock-table", "CREATE TABLE n (a int);\nLOCK TABLE n;"),
    ("ban-drop-table", "CREATE TABLE scratch (id bigint);\nDROP TABLE scratch;"),
    ("ban-drop-table", "DROP VIEW IF EXISTS v;\nCREATE VIEW v AS SELECT 1;"),
    ("ban-drop-table", "DROP INDEX CONCURRENTLY i;"),
    ("ban-drop-column", "ALTER TABLE users ALTER COLUMN last_seen_at DROP DEFAULT;"),
    ("ban-drop-column", "ALTER TABLE users DROP CONSTRAINT users_email_check;"),
    ("ban-drop-column", "CREATE TABLE n (a int, b int);\nALTER TABLE n DROP COLUMN b;"),
    ("ban-drop-schema", "DROP TABLE IF EXISTS x;"),
    ("ban-drop-type", "CREATE TYPE mood AS ENUM ('ok');"),
    ("ban-drop-view", "DROP VIEW active_users;\nCREATE VIEW active_users AS SELECT 1 AS id;"),
    (
        "ban-drop-view",
        "DROP MATERIALIZED VIEW s.m;\nCREATE MATERIALIZED VIEW s.m AS SELECT 1 AS id;",
    ),
    ("ban-drop-view", "CREATE OR REPLACE VIEW active_users AS SELECT 1 AS id;"),
    ("ban-drop-database", NO_TX + "CREATE DATABASE rally_scratch;"),
    (
        "ban-drop-function",
        "DROP FUNCTION f();\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';",
    ),
    (
        "ban-drop-function",
        "CREATE FUNCTION s.f() RETURNS int LANGUAGE sql AS 'SELECT 1';\nDROP FUNCTION s.f();",
    ),
    ("ban-drop-function", "DROP TRIGGER IF EXISTS t ON users;"),
    ("ban-drop-sequence", "CREATE SEQUENCE s;\nDROP SEQUENCE s;"),
    ("ban-drop-default", "ALTER TABLE users ALTER COLUMN created_at SET DEFAULT now();"),
    ("ban-drop-default", "CREATE TABLE n (a int DEFAULT 1);\nALTER TABLE n ALTER a DROP DEFAULT;"),
    (
        "ban-drop-constraint",
        "ALTER TABLE users ADD CONSTRAINT nn CHECK (email IS NOT NULL) NOT VALID;\n"
        "ALTER TABLE users DROP CONSTRAINT nn;",
    ),
    (
        "ban-drop-constraint",
        "CREATE TABLE n (a int CONSTRAINT c CHECK (a > 0));\nALTER TABLE n DROP CONSTRAINT c;",
    ),
    ("renaming-object", "ALTER INDEX users_email_idx RENAME TO users_email_key;"),
    ("renaming-object", "ALTER TABLE users RENAME CONSTRAINT a TO b;"),
    ("renaming-object", "ALTER TABLE users RENAME TO accounts;"),
    ("ban-truncate", "CREATE TABLE b (line text);\nTRUNCATE b;"),
    ("unbatched-data-change", "UPDATE users SET display_name = email WHERE display_name = '';"),
    ("unbatched-data-change", "DELETE FROM users WHERE id IN (SELECT id FROM users LIMIT 1000);"),
    ("unbatched-data-change", "CREATE TABLE n (a int);\nUPDATE n SET a = 1;"),
    ("unbatched-data-change", "INSERT INTO teams (name, slug) SELECT 'a', 'b';"),
    ("unbatched-data-change", "DELETE FROM users WHERE CURRENT OF c;"),
    ("renaming-table", "CREATE TABLE n (a int);\nALTER TABLE n RENAME TO m;"),
    ("renaming-table", "ALTER INDEX users_email_idx RENAME TO users_email_key;"),
    ("renaming-table", "ALTER TABLE users RENAME CONSTRAINT a TO b;"),
    ("renaming-column", "CREATE TABLE n (a int);\nALTER TABLE n RENAME COLUMN a TO b;"),
    ("renaming-column", "ALTER TABLE users RENAME TO accounts;"),
    ("renaming-schema", "CREATE SCHEMA analytics;"),
    ("renaming-enum-value", "ALTER TYPE match_status ADD VALUE 'playing';"),
    ("ban-drop-not-null", "ALTER TABLE users ALTER COLUMN email SET NOT NULL;"),
    ("ban-drop-not-null", "CREATE TABLE n (a int NOT NULL);\nALTER TABLE n ALTER a DROP NOT NULL;"),
    ("enum-value-used-in-transaction", "ALTER TYPE match_status ADD VALUE 'postponed';"),
    (
        "enum-value-used-in-transaction",
        NO_TX + "ALTER TYPE match_status ADD VALUE 'postponed';\n"
        "UPDATE matches SET status = 'postponed' WHERE id = 1;",
    ),
    (
        "enum-value-used-in-transaction",
        "UPDATE matches SET status = 'postponed' WHERE id = 1;\n"
        "ALTER TYPE match_status ADD VALUE 'postponed';",
    ),
    ("identifier-too-long", "CREATE TABLE " + "t" * 63 + " (id bigint);"),
    ("identifier-too-long", "COMMENT ON TABLE t IS '" + "x" * 100 + "';"),
    ("identifier-too-long", "SELECT '" + "x" * 100 + "' AS short_alias;"),
    ("prefer-jsonb", "CREATE TABLE audit (id bigint, payload jsonb);"),
    ("prefer-jsonb", "SELECT '{}'::json;"),
    ("prefer-bigint", "CREATE TABLE teams (id bigint PRIMARY KEY, score integer);"),
    ("prefer-identity", "CREATE TABLE teams (id bigint GENERATED ALWAYS AS IDENTITY);"),
    ("prefer-timestamptz", "CREATE TABLE e (at timestamptz, b timestamp with time zone);"),
    ("prefer-text", "CREATE TABLE u (email text, code varchar);"),
]

# Prisma's enum swap (prisma migrate's generated SQL for a changed enum)
PRISMA_ENUM_SWAP = """CREATE TYPE "Role_new" AS ENUM ('USER', 'ADMIN');
ALTER TABLE "User" ALTER COLUMN "role" DROP DEFAULT;
ALTER TABLE "User" ALTER COLUMN "role" TYPE "Role_new" USING ("role"::text::"Role_new");
ALTER TYPE "Role" RENAME TO "Role_old";
ALTER TYPE "Role_new" RENAME TO "Role";
DROP TYPE "Role_old";
ALTER TABLE "User" ALTER COLUMN "role" SET DEFAULT 'USER';"""

# names resolved as PostgreSQL does (issue 8, defect 1), type swaps (3), tautologies (4),
# dropped constraints (5)
FLAG += [
    (
        "require-concurrent-index",
        'CREATE TABLE "Users" (id bigint PRIMARY KEY, email text);\n'
        "CREATE INDEX users_email_idx ON users (email);",
        (2,),
    ),
    (
        "ban-drop-column",
        'CREATE TABLE "Users" (id bigint, legacy text);\nALTER TABLE users DROP COLUMN legacy;',
        (2,),
    ),
    (
        "require-concurrent-index",
        "CREATE TABLE audit.users (id bigint);\nCREATE INDEX i ON public.users (id);",
        (2,),
    ),
    (
        "require-concurrent-index",
        "SET search_path = audit;\nCREATE TABLE users (id bigint);\n"
        "CREATE INDEX i ON public.users (id);",
        (3,),
    ),
    ("ban-drop-type", 'ALTER TYPE "Role" RENAME TO "Role_old";\nDROP TYPE "Role_old";', (2,)),
    ("renaming-object", 'ALTER TYPE "Role" RENAME TO "Role_old";\nDROP TYPE "Role_old";', (1,)),
    ("ban-drop-type", PRISMA_ENUM_SWAP + '\nDROP TYPE "Status";', (8,)),
    ("unbatched-data-change", "UPDATE users SET flag = false WHERE true;", (1,)),
    ("unbatched-data-change", "DELETE FROM matches WHERE 1 = 1;", (1,)),
    ("unbatched-data-change", "DELETE FROM matches WHERE 'a' = 'a' AND NOT false;", (1,)),
    ("unbatched-data-change", "UPDATE users SET n = 0 WHERE (true OR id = 3);", (1,)),
    ("unbatched-data-change", "DELETE FROM matches WHERE 't'::boolean;", (1,)),
    ("ban-drop-constraint", 'ALTER TABLE "User" DROP CONSTRAINT "User_pkey";', (1,)),
    ("ban-drop-constraint", "ALTER TABLE users DROP CONSTRAINT users_email_key CASCADE;", (1,)),
]
OK += [
    (
        "require-concurrent-index",
        "SET search_path = audit, public;\nCREATE TABLE users (id bigint);\n"
        "CREATE INDEX i ON audit.users (id);",
    ),
    (
        "require-concurrent-index",
        'CREATE TABLE "Users" (id bigint);\nCREATE INDEX i ON "Users" (id);',
    ),
    ("require-concurrent-index", "CREATE TABLE USERS (id bigint);\nCREATE INDEX i ON Users (id);"),
    (
        "ban-drop-column",
        'CREATE TABLE "Users" (id bigint, legacy text);\nALTER TABLE "Users" DROP COLUMN legacy;',
    ),
    ("ban-drop-type", PRISMA_ENUM_SWAP),
    ("renaming-object", PRISMA_ENUM_SWAP),
    ("ban-drop-type", 'CREATE TYPE "Tmp" AS ENUM (\'a\');\nDROP TYPE "Tmp";'),
    ("renaming-object", "CREATE DOMAIN d AS int;\nALTER DOMAIN d RENAME TO e;"),
    ("unbatched-data-change", "UPDATE users SET flag = false WHERE false OR id = 3;"),
    ("unbatched-data-change", "DELETE FROM matches WHERE 1 = 2 OR id = 1;"),
    ("unbatched-data-change", "DELETE FROM matches WHERE '1' = 1;"),
]

# what the deploy engine relies on (issue 14, points 2, 3 and 6)
FLAG += [
    ("ban-advisory-unlock", "SELECT pg_advisory_unlock_all();", (1,)),
    ("ban-advisory-unlock", "SELECT pg_catalog.pg_advisory_unlock(4711);", (1,)),
    ("ban-advisory-unlock", "SELECT 1;\nSELECT pg_advisory_unlock_shared(1, 2) AS released;", (2,)),
    ("ban-advisory-unlock", NO_TX + "DISCARD ALL;", (2,)),
    ("ban-prepared-transaction", "PREPARE TRANSACTION 'm1';", (1,)),
    ("ban-prepared-transaction", NO_TX + "COMMIT PREPARED 'm1';", (2,)),
    ("ban-prepared-transaction", NO_TX + "ROLLBACK PREPARED 'm1';", (2,)),
    ("ban-ledger-schema", NO_TX + "DROP SCHEMA rally_gitops CASCADE;", (2,)),
    ("ban-ledger-schema", "DELETE FROM rally_gitops.applied WHERE version = '1';", (1,)),
    ("ban-ledger-schema", "ALTER SCHEMA rally_gitops RENAME TO old_ledger;", (1,)),
    ("ban-ledger-schema", "CREATE TABLE rally_gitops.mine (id bigint);", (1,)),
    ("ban-ledger-schema", 'SET search_path = "rally_gitops", public;', (1,)),
    ("ban-ledger-schema", "GRANT USAGE ON SCHEMA rally_gitops TO app;", (1,)),
]
OK += [
    ("ban-advisory-unlock", "SELECT pg_advisory_xact_lock(42);"),
    ("ban-advisory-unlock", NO_TX + "DISCARD PLANS;"),
    ("ban-advisory-unlock", "COMMENT ON TABLE t IS 'never call pg_advisory_unlock_all()';"),
    ("ban-prepared-transaction", "SAVEPOINT s;\nRELEASE SAVEPOINT s;"),
    ("ban-prepared-transaction", "PREPARE q AS SELECT 1;"),
    ("ban-ledger-schema", "CREATE SCHEMA reporting;"),
    ("ban-ledger-schema", "INSERT INTO notes (body) VALUES ('see rally_gitops.applied');"),
    ("ban-ledger-schema", "CREATE TABLE rally_gitops_mirror (id bigint);"),
]

# a default dropped and set again in one transaction (Prisma's enum swap) is not client-facing
FLAG += [
    (
        "ban-drop-default",
        NO_TX + 'ALTER TABLE "User" ALTER COLUMN "role" DROP DEFAULT;\n'
        'ALTER TABLE "User" ALTER COLUMN "role" SET DEFAULT \'USER\';',
        (2,),
    ),
    (
        "ban-drop-default",
        'ALTER TABLE "User" ALTER COLUMN "role" DROP DEFAULT;\n'
        'ALTER TABLE "Post" ALTER COLUMN "role" SET DEFAULT \'USER\';',
        (1,),
    ),
]
OK += [("ban-drop-default", PRISMA_ENUM_SWAP)]
