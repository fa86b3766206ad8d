"""The object-kind cases of the schema tests: a base, the SQL that makes SOURCE and TARGET
differ in exactly one thing, and the exact report lines of ``compare SOURCE TARGET``."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from rally_gitops.schema.diff import Diff, diff
from rally_gitops.schema.filters import Filter
from rally_gitops.schema.introspect import introspect
from rally_gitops.schema.model import Model

SELECTION = Filter(skip_schemas=("rally_gitops",))


@dataclass(frozen=True)
class Case:
    """Base SQL for both databases, then ``source``/``target`` SQL, and the expected lines."""

    id: str
    base: str
    source: str
    target: str
    lines: tuple[str, ...]


def reset(conn: psycopg.Connection) -> None:
    """Empty a scratch database: every user schema and extension dropped, ``public`` made anew
    (cheaper than a new database per case; both sides of a case are reset alike)."""
    schemas = conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
        "AND nspname <> 'information_schema'"
    ).fetchall()
    extensions = conn.execute("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'")
    for (name,) in extensions.fetchall():
        conn.execute(f'DROP EXTENSION "{name}" CASCADE')
    for (name,) in schemas:
        conn.execute(f'DROP SCHEMA "{name}" CASCADE')
    conn.execute("CREATE SCHEMA public")


def model(url: str, sql: str, selection: Filter = SELECTION, *, fresh: bool = False) -> Model:
    """Run ``sql`` in the database at ``url`` (emptied first when ``fresh``) and read its model."""
    with psycopg.connect(url, autocommit=True) as conn:
        if fresh:
            reset(conn)
        if sql.strip():
            conn.execute(sql)
        return introspect(conn, selection)


def compare(
    urls: tuple[str, str], case: Case, selection: Filter = SELECTION
) -> tuple[Model, Model]:
    """The two scratch databases ``urls``, emptied, holding the case's source and target."""
    left = model(urls[0], case.base + "\n" + case.source, selection, fresh=True)
    right = model(urls[1], case.base + "\n" + case.target, selection, fresh=True)
    return left, right


def differences(left: Model, right: Model, **flags: bool) -> Diff:
    """``diff`` with the compare command's defaults."""
    return diff(left, right, **flags)


T = "CREATE TABLE t (id int);"
FK_BASE = "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE t (id int, p_id int);"
IX_BASE = "CREATE TABLE t (a int, b int, c text);"
VIEW_BASE = "CREATE TABLE t (a int, b int);"
TRIGGER_BASE = (
    "CREATE TABLE t (a int); CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql "
    "AS $$BEGIN RETURN NEW; END$$;"
)
TRIGGER = "CREATE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();"
PARTITIONED = "CREATE TABLE m (at date NOT NULL, v int) PARTITION BY RANGE (at);"
PART_2024 = "CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('{}');"
F = "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql {} AS 'SELECT {}';"
RLS = "CREATE TABLE t (a int); ALTER TABLE t ENABLE ROW LEVEL SECURITY;"

CASES: tuple[Case, ...] = (
    # schemas and extensions
    Case("schema-added", "", "", 'CREATE SCHEMA "Billing";', ('+ schema "Billing"',)),
    Case("schema-dropped", "", "CREATE SCHEMA s;", "", ("- schema s",)),
    # the extension's functions, types and operators are its members: not listed
    Case("extension-added", "", "", "CREATE EXTENSION pg_trgm;", ("+ extension pg_trgm",)),
    Case(
        "extension-schema",
        "CREATE SCHEMA ext;",
        "CREATE EXTENSION pg_trgm;",
        "CREATE EXTENSION pg_trgm SCHEMA ext;",
        ("~ extension pg_trgm: schema public → ext",),
    ),
    # tables
    Case(
        "table-added", "", "", "CREATE TABLE t (a int PRIMARY KEY, b text);", ("+ table public.t",)
    ),
    Case("table-dropped", "", T, "", ("- table public.t",)),
    Case(
        "table-unlogged",
        "",
        T,
        "CREATE UNLOGGED TABLE t (id int);",
        ("~ table public.t: unlogged no → yes",),
    ),
    Case(
        "table-rls",
        T,
        "",
        "ALTER TABLE t ENABLE ROW LEVEL SECURITY; ALTER TABLE t FORCE ROW LEVEL SECURITY;",
        ("~ table public.t: rls enabled no → yes; rls forced no → yes",),
    ),
    Case(
        "table-options",
        "",
        T,
        "CREATE TABLE t (id int) WITH (fillfactor = 70);",
        ("~ table public.t: options () → (fillfactor=70)",),
    ),
    Case(
        "table-partition-bound",
        PARTITIONED,
        PART_2024.format("2025-01-01"),
        PART_2024.format("2024-07-01"),
        (
            "~ table public.m_2024: partition bound FOR VALUES FROM ('2024-01-01') TO "
            "('2025-01-01') → FOR VALUES FROM ('2024-01-01') TO ('2024-07-01')",
        ),
    ),
    Case(
        "table-partitioned-added",
        "",
        "",
        PARTITIONED + PART_2024.format("2025-01-01"),
        ("+ table public.m", "+ table public.m_2024"),
    ),
    Case(
        "table-inherits",
        "CREATE TABLE p (a int);",
        "CREATE TABLE c (b int);",
        "CREATE TABLE c (b int) INHERITS (p);",
        ("~ table public.c: inherits () → (public.p)", "", "+ column public.c.a"),
    ),
    # columns
    Case(
        "column-added",
        T,
        "",
        'ALTER TABLE t ADD "Nick" varchar(40);',
        ('+ column public.t."Nick"',),
    ),
    Case("column-dropped", T, "ALTER TABLE t ADD n int;", "", ("- column public.t.n",)),
    Case(
        "column-dropped-before-others",
        T,
        "ALTER TABLE t ADD a int, ADD b int;",
        "ALTER TABLE t ADD b int;",
        ("- column public.t.a",),
    ),
    Case(
        "column-type",
        T,
        "ALTER TABLE t ADD nickname varchar(40);",
        "ALTER TABLE t ADD nickname varchar(80);",
        ("~ column public.t.nickname: type character varying(40) → character varying(80)",),
    ),
    Case(
        "column-default",
        T,
        "ALTER TABLE t ADD n int DEFAULT 1;",
        "ALTER TABLE t ADD n int DEFAULT 2;",
        ("~ column public.t.n: default 1 → 2",),
    ),
    Case(
        "column-not-null",
        T,
        "ALTER TABLE t ADD n int;",
        "ALTER TABLE t ADD n int NOT NULL;",
        ("~ column public.t.n: not null no → yes",),
    ),
    Case(
        "column-collation",
        T,
        "ALTER TABLE t ADD n text;",
        'ALTER TABLE t ADD n text COLLATE "C";',
        ('~ column public.t.n: collation none → pg_catalog."C"',),
    ),
    Case(
        "column-identity",
        T,
        "ALTER TABLE t ADD n int GENERATED ALWAYS AS IDENTITY;",
        "ALTER TABLE t ADD n int GENERATED BY DEFAULT AS IDENTITY;",
        ("~ column public.t.n: identity always → by default",),
    ),
    Case(
        "column-identity-options",
        T,
        "ALTER TABLE t ADD n int GENERATED ALWAYS AS IDENTITY;",
        "ALTER TABLE t ADD n int GENERATED ALWAYS AS IDENTITY (START 10 INCREMENT 5);",
        (
            "~ column public.t.n: identity options AS integer START 1 INCREMENT 1 MINVALUE 1 "
            "MAXVALUE 2147483647 CACHE 1 → AS integer START 10 INCREMENT 5 MINVALUE 1 "
            "MAXVALUE 2147483647 CACHE 1",
        ),
    ),
    Case(
        "column-generated",
        T,
        "ALTER TABLE t ADD n int GENERATED ALWAYS AS (id * 2) STORED;",
        "ALTER TABLE t ADD n int GENERATED ALWAYS AS (id * 3) STORED;",
        ("~ column public.t.n: generated expression (id * 2) → (id * 3)",),
    ),
    Case(
        "column-order",
        T,
        "ALTER TABLE t ADD a int, ADD b int;",
        "ALTER TABLE t ADD b int, ADD a int;",
        ("~ column public.t.a: position 2 → 3", "~ column public.t.b: position 3 → 2"),
    ),
    # constraints
    Case(
        "constraint-check-added",
        FK_BASE,
        "",
        "ALTER TABLE t ADD CONSTRAINT t_id_check CHECK (id > 0);",
        ("+ constraint public.t.t_id_check",),
    ),
    Case(
        "constraint-primary-key-added",
        FK_BASE,
        "",
        "ALTER TABLE t ADD PRIMARY KEY (id);",
        (
            "~ column public.t.id: not null no → yes",
            "",
            "+ constraint public.t.t_pkey",
            "",
            "+ index public.t_pkey",
        ),
    ),
    Case(
        "constraint-foreign-key-action",
        FK_BASE,
        "ALTER TABLE t ADD CONSTRAINT t_p_fk FOREIGN KEY (p_id) REFERENCES p;",
        "ALTER TABLE t ADD CONSTRAINT t_p_fk FOREIGN KEY (p_id) REFERENCES p ON DELETE CASCADE;",
        (
            "~ constraint public.t.t_p_fk: definition FOREIGN KEY (p_id) REFERENCES public.p(id)"
            " → FOREIGN KEY (p_id) REFERENCES public.p(id) ON DELETE CASCADE",
        ),
    ),
    Case(
        "constraint-foreign-key-match",
        FK_BASE,
        "ALTER TABLE t ADD CONSTRAINT t_p_fk FOREIGN KEY (p_id) REFERENCES p;",
        "ALTER TABLE t ADD CONSTRAINT t_p_fk FOREIGN KEY (p_id) REFERENCES p MATCH FULL;",
        (
            "~ constraint public.t.t_p_fk: definition FOREIGN KEY (p_id) REFERENCES public.p(id)"
            " → FOREIGN KEY (p_id) REFERENCES public.p(id) MATCH FULL",
        ),
    ),
    Case(
        "constraint-not-valid",
        FK_BASE,
        "ALTER TABLE t ADD CONSTRAINT c CHECK (id > 0);",
        "ALTER TABLE t ADD CONSTRAINT c CHECK (id > 0) NOT VALID;",
        (
            "~ constraint public.t.c: definition CHECK ((id > 0)) → CHECK ((id > 0)) NOT VALID; "
            "validated yes → no",
        ),
    ),
    Case(
        "constraint-deferrable",
        FK_BASE,
        "ALTER TABLE t ADD CONSTRAINT u UNIQUE (id);",
        "ALTER TABLE t ADD CONSTRAINT u UNIQUE (id) DEFERRABLE INITIALLY DEFERRED;",
        (
            "~ constraint public.t.u: definition UNIQUE (id) → UNIQUE (id) DEFERRABLE INITIALLY "
            "DEFERRED; deferrable no → yes; deferred no → yes",
        ),
    ),
    Case(
        "constraint-exclusion-added",
        "CREATE TABLE r (during tsrange);",
        "",
        "ALTER TABLE r ADD CONSTRAINT r_excl EXCLUDE USING gist (during WITH &&);",
        ("+ constraint public.r.r_excl", "", "+ index public.r_excl"),
    ),
    # indexes
    Case("index-added", IX_BASE, "", "CREATE INDEX t_a_idx ON t (a);", ("+ index public.t_a_idx",)),
    Case(
        "index-dropped", IX_BASE, "CREATE INDEX t_a_idx ON t (a);", "", ("- index public.t_a_idx",)
    ),
    Case(
        "index-partial",
        IX_BASE,
        "CREATE INDEX i ON t (a);",
        "CREATE INDEX i ON t (a) WHERE b > 0;",
        ("~ index public.i: predicate none → (b > 0)",),
    ),
    Case(
        "index-include",
        IX_BASE,
        "CREATE INDEX i ON t (a);",
        "CREATE INDEX i ON t (a) INCLUDE (b);",
        ("~ index public.i: include () → (b)",),
    ),
    Case(
        "index-unique",
        IX_BASE,
        "CREATE INDEX i ON t (a);",
        "CREATE UNIQUE INDEX i ON t (a);",
        ("~ index public.i: unique no → yes",),
    ),
    Case(
        "index-method",
        IX_BASE,
        "CREATE INDEX i ON t (a);",
        "CREATE INDEX i ON t USING hash (a);",
        ("~ index public.i: method btree → hash",),
    ),
    Case(
        "index-expression",
        IX_BASE,
        "CREATE INDEX i ON t (c);",
        "CREATE INDEX i ON t (lower(c));",
        (
            "~ index public.i: definition CREATE INDEX i ON public.t USING btree (c) → "
            "CREATE INDEX i ON public.t USING btree (lower(c))",
        ),
    ),
    Case(
        "index-opclass",
        IX_BASE,
        "CREATE INDEX i ON t (c);",
        "CREATE INDEX i ON t (c text_pattern_ops);",
        (
            "~ index public.i: definition CREATE INDEX i ON public.t USING btree (c) → "
            "CREATE INDEX i ON public.t USING btree (c text_pattern_ops)",
        ),
    ),
    # sequences
    Case("sequence-added", "", "", "CREATE SEQUENCE s;", ("+ sequence public.s",)),
    Case(
        "sequence-increment",
        "",
        "CREATE SEQUENCE s;",
        "CREATE SEQUENCE s INCREMENT 5 CYCLE;",
        ("~ sequence public.s: increment 1 → 5; cycle no → yes",),
    ),
    Case(
        "sequence-type",
        "",
        "CREATE SEQUENCE s;",
        "CREATE SEQUENCE s AS integer START 7 CACHE 20;",
        (
            "~ sequence public.s: data type bigint → integer; start 1 → 7; "
            "maximum 9223372036854775807 → 2147483647; cache 1 → 20",
        ),
    ),
    Case(
        "sequence-owned-by",
        "CREATE TABLE t (a int); CREATE SEQUENCE s;",
        "",
        "ALTER SEQUENCE s OWNED BY t.a;",
        ("~ sequence public.s: owned by none → public.t.a",),
    ),
    # views
    Case("view-added", VIEW_BASE, "", "CREATE VIEW v AS SELECT a FROM t;", ("+ view public.v",)),
    Case(
        "view-definition",
        VIEW_BASE,
        "CREATE VIEW v AS SELECT a FROM t;",
        "CREATE VIEW v AS SELECT a, b FROM t;",
        ("~ view public.v: definition differs",),
    ),
    Case(
        "view-options",
        VIEW_BASE,
        "CREATE VIEW v AS SELECT a FROM t;",
        "CREATE VIEW v WITH (security_invoker = true) AS SELECT a FROM t;",
        ("~ view public.v: options () → (security_invoker=true)",),
    ),
    Case(
        "materialized-view-added",
        VIEW_BASE,
        "",
        "CREATE MATERIALIZED VIEW mv AS SELECT a FROM t;",
        ("+ materialized view public.mv",),
    ),
    Case(
        "materialized-view-index",
        VIEW_BASE + "CREATE MATERIALIZED VIEW mv AS SELECT a FROM t;",
        "",
        "CREATE INDEX mv_a_idx ON mv (a);",
        ("+ index public.mv_a_idx",),
    ),
    # functions and procedures
    Case("function-added", "", "", F.format("", "a"), ("+ function public.f(a integer)",)),
    Case(
        "function-body",
        "",
        F.format("", "a"),
        F.format("", "a + 1"),
        ("~ function public.f(a integer): body differs",),
    ),
    Case(
        "function-overload",
        F.format("", "a"),
        "",
        "CREATE FUNCTION f(a int, b int) RETURNS int LANGUAGE sql AS 'SELECT a + b';",
        ("+ function public.f(a integer, b integer)",),
    ),
    Case(
        "function-volatility",
        "",
        F.format("", "a"),
        F.format("IMMUTABLE", "a"),
        ("~ function public.f(a integer): volatility volatile → immutable",),
    ),
    Case(
        "function-security-and-config",
        "",
        F.format("", "a"),
        F.format("SECURITY DEFINER SET search_path = public", "a"),
        (
            "~ function public.f(a integer): security definer no → yes; "
            "config () → (search_path=public)",
        ),
    ),
    Case(
        "function-sql-standard-body",
        "",
        "CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;",
        "CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 2; END;",
        ("~ function public.g(): definition differs",),
    ),
    Case(
        "procedure-added",
        "",
        "",
        "CREATE PROCEDURE p() LANGUAGE sql AS $$ SELECT 1 $$;",
        ("+ procedure public.p()",),
    ),
    # triggers
    Case("trigger-added", TRIGGER_BASE, "", TRIGGER, ("+ trigger public.t.t_trg",)),
    Case(
        "trigger-disabled",
        TRIGGER_BASE + TRIGGER,
        "",
        "ALTER TABLE t DISABLE TRIGGER t_trg;",
        ("~ trigger public.t.t_trg: enabled origin → disabled",),
    ),
    Case(
        "trigger-event",
        TRIGGER_BASE,
        TRIGGER,
        TRIGGER.replace("INSERT", "UPDATE"),
        (
            "~ trigger public.t.t_trg: definition CREATE TRIGGER t_trg BEFORE INSERT ON public.t "
            "FOR EACH ROW EXECUTE FUNCTION public.trg() → CREATE TRIGGER t_trg BEFORE UPDATE ON "
            "public.t FOR EACH ROW EXECUTE FUNCTION public.trg()",
        ),
    ),
    # types
    Case("enum-added", "", "", "CREATE TYPE mood AS ENUM ('ok', 'sad');", ("+ enum public.mood",)),
    Case(
        "enum-order",
        "",
        "CREATE TYPE mood AS ENUM ('ok', 'sad');",
        "CREATE TYPE mood AS ENUM ('sad', 'ok');",
        ("~ enum public.mood: labels (ok, sad) → (sad, ok)",),
    ),
    Case(
        "enum-value-added",
        "CREATE TYPE mood AS ENUM ('ok', 'sad');",
        "",
        "ALTER TYPE mood ADD VALUE 'meh' BEFORE 'sad';",
        ("~ enum public.mood: labels (ok, sad) → (ok, meh, sad)",),
    ),
    Case(
        "domain-added",
        "",
        "",
        "CREATE DOMAIN pos AS int CHECK (VALUE > 0);",
        ("+ domain public.pos",),
    ),
    Case(
        "domain-constraint",
        "",
        "CREATE DOMAIN pos AS int CONSTRAINT pos_check CHECK (VALUE > 0);",
        "CREATE DOMAIN pos AS int CONSTRAINT pos_check CHECK (VALUE >= 0);",
        (
            "~ domain public.pos: constraints ((pos_check, CHECK ((VALUE > 0)))) → "
            "((pos_check, CHECK ((VALUE >= 0))))",
        ),
    ),
    Case(
        "domain-default-not-null",
        "",
        "CREATE DOMAIN pos AS int;",
        "CREATE DOMAIN pos AS int DEFAULT 1 NOT NULL;",
        ("~ domain public.pos: default none → 1; not null no → yes",),
    ),
    Case(
        "composite-added",
        "",
        "",
        "CREATE TYPE pair AS (a int, b text);",
        ("+ composite type public.pair",),
    ),
    Case(
        "composite-member-type",
        "",
        "CREATE TYPE pair AS (a int, b text);",
        "CREATE TYPE pair AS (a bigint, b text);",
        (
            "~ composite type public.pair: members ((a, integer, none), (b, text, none)) → "
            "((a, bigint, none), (b, text, none))",
        ),
    ),
    # row-level security policies
    Case("policy-added", RLS, "", "CREATE POLICY p ON t USING (a > 0);", ("+ policy public.t.p",)),
    Case(
        "policy-using",
        RLS,
        "CREATE POLICY p ON t USING (a > 0);",
        "CREATE POLICY p ON t USING (a > 1);",
        ("~ policy public.t.p: using (a > 0) → (a > 1)",),
    ),
    Case(
        "policy-command",
        RLS,
        "CREATE POLICY p ON t USING (a > 0);",
        "CREATE POLICY p ON t AS RESTRICTIVE FOR SELECT USING (a > 0);",
        ("~ policy public.t.p: command all → select; permissive yes → no",),
    ),
)

# one object of every kind, and the COMMENT that names it (with the comment it had before)
COMMENTED = (
    "CREATE SCHEMA s; CREATE EXTENSION pg_trgm;"
    "CREATE TYPE mood AS ENUM ('ok'); CREATE DOMAIN pos AS int CONSTRAINT pos_check CHECK "
    "(VALUE > 0); CREATE TYPE pair AS (a int); CREATE SEQUENCE q;"
    "CREATE TABLE t (a int CONSTRAINT t_a_check CHECK (a > 0)); CREATE INDEX t_a_idx ON t (a);"
    "CREATE VIEW v AS SELECT a FROM t; CREATE MATERIALIZED VIEW mv AS SELECT a FROM t;"
    + F.format("", "a")
    + "CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;"
    + TRIGGER
    + "ALTER TABLE t ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON t USING (a > 0);"
)
COMMENTS = (
    ("SCHEMA s", "schema s"),
    # an extension comes with a comment of its own
    (
        "EXTENSION pg_trgm",
        "extension pg_trgm: comment text similarity measurement and index searching based on "
        "trigrams",
    ),
    ("TYPE mood", "enum public.mood"),
    ("DOMAIN pos", "domain public.pos"),
    ("TYPE pair", "composite type public.pair"),
    ("SEQUENCE q", "sequence public.q"),
    ("TABLE t", "table public.t"),
    ("COLUMN t.a", "column public.t.a"),
    ("CONSTRAINT t_a_check ON t", "constraint public.t.t_a_check"),
    ("INDEX t_a_idx", "index public.t_a_idx"),
    ("VIEW v", "view public.v"),
    ("MATERIALIZED VIEW mv", "materialized view public.mv"),
    ("FUNCTION f(int)", "function public.f(a integer)"),
    ("TRIGGER t_trg ON t", "trigger public.t.t_trg"),
    ("POLICY p ON t", "policy public.t.p"),
)


def drop_replay_databases(admin_url: str) -> None:
    """Drop the ``rally_replay_*`` databases a ``migrations`` source left on the test server."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'rally\\_replay\\_%'"
        ).fetchall()
        for (name,) in rows:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migration_file(name: str, body: str) -> str:
    """The text of a transactional migration ``name`` (without .sql) running ``body``."""
    return f"-- Migration: {name}\n-- Description: test\n\nBEGIN;\n{body}\nCOMMIT;\n"
