"""The rule cases of the linter's tests: SQL each rule must flag and SQL it must pass, and
helpers that lint one body as a real migration file (squawk's ok/err style)."""

from __future__ import annotations

from pathlib import Path

from rally_gitops.files import migrations
from rally_gitops.lint.model import FileContext, Violation
from rally_gitops.lint.parsing import analyse
from rally_gitops.lint.rules import RULES

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


FLAG: list[tuple[str, str]] = [
    ("require-concurrent-index", "CREATE INDEX users_email_idx ON users (email);"),
    ("require-concurrent-index", "CREATE UNIQUE INDEX ON public.users (lower(email));"),
    ("require-concurrent-index", NO_TX + "CREATE INDEX users_email_idx ON users (email);"),
    ("require-concurrent-index", "CREATE INDEX i ON users (email) NULLS NOT DISTINCT;"),
    ("require-concurrent-index-drop", "DROP INDEX users_email_idx;"),
    ("require-concurrent-index-drop", "DROP INDEX IF EXISTS a_idx, b_idx;"),
    ("ban-concurrently-in-transaction", "CREATE INDEX CONCURRENTLY i ON users (email);"),
    ("ban-concurrently-in-transaction", "DROP INDEX CONCURRENTLY users_email_idx;"),
    ("ban-concurrently-in-transaction", "REINDEX INDEX CONCURRENTLY users_email_idx;"),
    ("ban-concurrently-in-transaction", "ALTER TABLE events DETACH PARTITION e1 CONCURRENTLY;"),
    ("require-concurrent-reindex", "REINDEX TABLE users;"),
    ("require-concurrent-reindex", NO_TX + "REINDEX INDEX users_email_idx;"),
    ("require-concurrent-refresh", "REFRESH MATERIALIZED VIEW standings;"),
    (
        "require-not-valid-foreign-key",
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id);",
    ),
    ("require-not-valid-foreign-key", "ALTER TABLE orders ADD FOREIGN KEY (u) REFERENCES users;"),
    ("require-not-valid-foreign-key", "ALTER TABLE orders ADD COLUMN u bigint REFERENCES users;"),
    ("require-not-valid-check", "ALTER TABLE users ADD CONSTRAINT c CHECK (age >= 0);"),
    ("require-not-valid-check", "ALTER TABLE users ADD CHECK (age >= 0);"),
    (
        "validate-in-same-transaction",
        "ALTER TABLE users ADD CONSTRAINT c CHECK (age >= 0) NOT VALID;\n"
        "ALTER TABLE users VALIDATE CONSTRAINT c;",
    ),
    (
        "validate-in-same-transaction",
        "ALTER TABLE o ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users NOT VALID;\n"
        "ALTER TABLE o VALIDATE CONSTRAINT fk;",
    ),
    ("ban-alter-domain-add-constraint", "ALTER DOMAIN score ADD CONSTRAINT p CHECK (VALUE > 0);"),
    ("setting-not-null", "ALTER TABLE users ALTER COLUMN email SET NOT NULL;"),
    (
        "setting-not-null",
        "ALTER TABLE users VALIDATE CONSTRAINT users_team_fk;\n"
        "ALTER TABLE users ALTER COLUMN team_id SET NOT NULL;",
    ),
    (
        "setting-not-null",
        "ALTER TABLE users ADD CONSTRAINT nn CHECK (email IS NOT NULL) NOT VALID;\n"
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
    ),
    ("setting-not-null", "ALTER TABLE ONLY users ALTER email SET NOT NULL, ALTER x DROP DEFAULT;"),
    ("adding-unique-constraint", "ALTER TABLE users ADD CONSTRAINT u UNIQUE (email);"),
    ("adding-unique-constraint", "ALTER TABLE users ADD COLUMN handle text UNIQUE;"),
    ("adding-primary-key-constraint", "ALTER TABLE items ADD PRIMARY KEY (id);"),
    ("adding-primary-key-constraint", "ALTER TABLE items ADD COLUMN id bigint PRIMARY KEY;"),
    (
        "adding-exclusion-constraint",
        "ALTER TABLE b ADD CONSTRAINT x EXCLUDE USING gist (room WITH =, during WITH &&);",
    ),
    ("adding-required-field", "ALTER TABLE users ADD COLUMN country text NOT NULL;"),
    ("adding-required-field", "ALTER TABLE users ADD COLUMN a int, ADD COLUMN b int NOT NULL;"),
    ("adding-volatile-default", "ALTER TABLE users ADD COLUMN t uuid DEFAULT gen_random_uuid();"),
    ("adding-volatile-default", "ALTER TABLE users ADD COLUMN r float8 DEFAULT random();"),
    (
        "adding-volatile-default",
        "ALTER TABLE users ADD COLUMN s text NOT NULL DEFAULT md5(random()::text);",
    ),
    (
        "adding-volatile-default",
        "ALTER TABLE users ADD COLUMN c timestamptz DEFAULT clock_timestamp(), "
        "ADD CONSTRAINT x UNIQUE USING INDEX i;",
    ),
    ("adding-volatile-default", "ALTER TABLE users ADD COLUMN n bigint DEFAULT nextval('s');"),
    ("adding-serial-column", "ALTER TABLE events ADD COLUMN seq bigserial;"),
    ("adding-serial-column", "ALTER TABLE events ADD COLUMN seq serial NOT NULL;"),
    (
        "adding-serial-column",
        "ALTER TABLE events ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;",
    ),
    (
        "adding-stored-generated-column",
        "ALTER TABLE users ADD COLUMN e text GENERATED ALWAYS AS (lower(email)) STORED;",
    ),
    ("changing-column-type", "ALTER TABLE users ALTER COLUMN id TYPE bigint;"),
    ("changing-column-type", "ALTER TABLE users ALTER COLUMN n TYPE text USING n::text;"),
    ("changing-column-type", "ALTER TABLE users ALTER COLUMN at SET DATA TYPE timestamptz;"),
    ("changing-column-type-widening", "ALTER TABLE users ALTER COLUMN name TYPE varchar(200);"),
    ("changing-column-type-widening", "ALTER TABLE users ALTER COLUMN name TYPE text;"),
    ("changing-column-type-widening", "ALTER TABLE p ALTER COLUMN amount TYPE numeric(14, 2);"),
    ("rewriting-table", "ALTER TABLE events SET TABLESPACE fast;"),
    ("rewriting-table", "ALTER TABLE events SET LOGGED;"),
    ("rewriting-table", "ALTER TABLE events SET UNLOGGED;"),
    ("rewriting-table", "ALTER TABLE events SET ACCESS METHOD heap;"),
    ("ban-vacuum-full", NO_TX + "VACUUM FULL users;"),
    ("ban-vacuum-full", NO_TX + "VACUUM (FULL, ANALYZE) users;"),
    ("ban-cluster", "CLUSTER matches USING matches_scheduled_at_idx;"),
    ("ban-cluster", "CLUSTER matches;"),
    ("ban-lock-table", "LOCK TABLE users;"),
    ("ban-lock-table", "LOCK users, teams IN EXCLUSIVE MODE;"),
    ("ban-drop-table", "DROP TABLE user_preferences;"),
    ("ban-drop-table", "DROP TABLE IF EXISTS a, b CASCADE;"),
    ("ban-drop-column", "ALTER TABLE users DROP COLUMN last_seen_at;"),
    ("ban-drop-column", "ALTER TABLE ONLY users DROP COLUMN IF EXISTS a CASCADE, DROP b;"),
    ("ban-drop-schema", "DROP SCHEMA reporting CASCADE;"),
    ("ban-drop-schema", "DROP SCHEMA IF EXISTS a, b CASCADE;"),
    ("ban-drop-type", "DROP TYPE match_status;"),
    ("ban-drop-type", "DROP TYPE IF EXISTS a, b CASCADE;"),
    ("ban-drop-type", "DROP DOMAIN score;"),
    ("ban-drop-view", "DROP VIEW active_users;"),
    ("ban-drop-view", "DROP MATERIALIZED VIEW IF EXISTS standings;"),
    ("ban-drop-view", "DROP VIEW v;\nCREATE TABLE v (id bigint);"),
    ("ban-drop-database", NO_TX + "DROP DATABASE rally_old;"),
    ("ban-drop-database", NO_TX + "DROP DATABASE IF EXISTS rally_old WITH (FORCE);"),
    ("ban-drop-function", "DROP FUNCTION touch_updated_at();"),
    ("ban-drop-function", "DROP PROCEDURE IF EXISTS s.p(int), q;"),
    (
        "ban-drop-function",
        NO_TX + "DROP FUNCTION f();\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';",
    ),
    ("ban-drop-sequence", "DROP SEQUENCE invoice_number_seq;"),
    ("ban-drop-sequence", "DROP SEQUENCE IF EXISTS billing.a_seq, b_seq CASCADE;"),
    ("ban-drop-default", "ALTER TABLE users ALTER COLUMN created_at DROP DEFAULT;"),
    ("ban-drop-constraint", "ALTER TABLE users DROP CONSTRAINT users_email_check;"),
    ("ban-drop-constraint", "ALTER TABLE users DROP CONSTRAINT IF EXISTS c CASCADE;"),
    ("renaming-object", "ALTER VIEW active_users RENAME TO recent_users;"),
    ("renaming-object", "ALTER MATERIALIZED VIEW s.m RENAME TO n;"),
    ("renaming-object", "ALTER FUNCTION f(int) RENAME TO g;"),
    ("renaming-object", "ALTER TYPE mood RENAME TO feeling;"),
    ("renaming-object", "ALTER SEQUENCE s RENAME TO t;"),
    ("ban-truncate", "TRUNCATE match_participants;"),
    ("ban-truncate", "TRUNCATE TABLE ONLY a, b RESTART IDENTITY CASCADE;"),
    ("unbatched-data-change", "UPDATE users SET display_name = email;"),
    ("unbatched-data-change", "DELETE FROM users;"),
    ("unbatched-data-change", "UPDATE users u SET team_id = t.id FROM teams t;"),
    ("unbatched-data-change", "WITH x AS (SELECT 1) DELETE FROM ONLY users;"),
    ("renaming-table", "ALTER TABLE users RENAME TO accounts;"),
    ("renaming-table", "ALTER TABLE IF EXISTS public.users RENAME TO accounts;"),
    ("renaming-column", "ALTER TABLE users RENAME COLUMN display_name TO full_name;"),
    ("renaming-column", "ALTER TABLE users RENAME display_name TO full_name;"),
    ("renaming-schema", "ALTER SCHEMA reporting RENAME TO analytics;"),
    ("renaming-enum-value", "ALTER TYPE match_status RENAME VALUE 'live' TO 'playing';"),
    ("ban-drop-not-null", "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;"),
    (
        "enum-value-used-in-transaction",
        "ALTER TYPE match_status ADD VALUE 'postponed';\n"
        "UPDATE matches SET status = 'postponed' WHERE id = 1;",
    ),
    (
        "enum-value-used-in-transaction",
        "ALTER TYPE s ADD VALUE IF NOT EXISTS 'x' BEFORE 'a';\n"
        "ALTER TABLE t ALTER COLUMN st SET DEFAULT 'x';",
    ),
    ("identifier-too-long", "CREATE TABLE " + "t" * 64 + " (id bigint);"),
    ("identifier-too-long", 'ALTER TABLE t ADD COLUMN "' + "é" * 32 + '" int;'),
    ("identifier-too-long", "CREATE TABLE x (j jsonb COMPRESSION lz4, " + "c" * 70 + " int);"),
    ("prefer-jsonb", "CREATE TABLE audit (id bigint, payload json);"),
    ("prefer-jsonb", "ALTER TABLE audit ADD COLUMN payloads json[];"),
    ("prefer-jsonb", "CREATE TEMP TABLE t (j json) ON COMMIT DROP;"),
    ("prefer-jsonb", "ALTER TABLE audit ALTER COLUMN payload TYPE json;"),
    ("prefer-bigint", "CREATE TABLE teams (id integer PRIMARY KEY);"),
    ("prefer-bigint", "CREATE TABLE m (team_id smallint);"),
    ("prefer-bigint", "CREATE TABLE m (id serial);"),
    ("prefer-identity", "CREATE TABLE teams (id bigserial PRIMARY KEY);"),
    ("prefer-identity", "ALTER TABLE teams ADD COLUMN n smallserial;"),
    ("prefer-timestamptz", "CREATE TABLE e (at timestamp);"),
    ("prefer-timestamptz", "CREATE TABLE e (at timestamp(3) without time zone);"),
    ("prefer-text", "CREATE TABLE u (email varchar(255));"),
    ("prefer-text", "CREATE TABLE u (code char(2));"),
    ("prefer-text", "CREATE TABLE u (code character varying(2));"),
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
