"""Catalog queries for schemas, extensions, functions and the user-defined types."""

from __future__ import annotations

from rally_gitops.schema.queries.common import acl, comment, not_extension_member, user_schema

SCHEMAS = f"""
SELECT n.nspname AS name, {acl("n.nspacl", "n", "n.nspowner")},
       ds.description AS comment
FROM pg_catalog.pg_namespace n
{comment("ds", "pg_namespace", "n.oid")}
WHERE {user_schema("n")} AND {not_extension_member("pg_namespace", "n.oid")}
"""

EXTENSIONS = f"""
SELECT x.extname AS name, n.nspname AS schema, x.extversion AS version,
       pg_catalog.pg_get_userbyid(x.extowner) AS owner,
       ds.description AS comment
FROM pg_catalog.pg_extension x
JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace
{comment("ds", "pg_extension", "x.oid")}
WHERE {user_schema("n")}
"""

FUNCTIONS = f"""
SELECT n.nspname AS schema, p.proname AS name,
       pg_catalog.pg_get_function_identity_arguments(p.oid) AS arguments,
       p.prokind = 'p' AS procedure,
       CASE WHEN p.prokind <> 'p' THEN pg_catalog.pg_get_function_result(p.oid) END AS result,
       l.lanname AS language, p.provolatile AS volatility, p.proisstrict AS strict,
       p.prosecdef AS security_definer, p.proleakproof AS leakproof, p.proparallel AS parallel,
       coalesce(p.proconfig, '{{}}')::text[] AS config, p.prosrc AS body,
       pg_catalog.pg_get_functiondef(p.oid) AS definition,
       {acl("p.proacl", "f", "p.proowner")},
       ds.description AS comment
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
{comment("ds", "pg_proc", "p.oid")}
WHERE p.prokind IN ('f', 'p') AND {user_schema("n")} AND {not_extension_member("pg_proc", "p.oid")}
"""

_TYPE_FILTER = f"{user_schema('n')} AND {not_extension_member('pg_type', 't.oid')}"
_TYPE_COMMON = f"""n.nspname AS schema, t.typname AS name,
       {acl("t.typacl", "T", "t.typowner")},
       ds.description AS comment"""
_TYPE_COMMENT = comment("ds", "pg_type", "t.oid")

ENUMS = f"""
SELECT {_TYPE_COMMON},
       ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid
             ORDER BY e.enumsortorder) AS labels
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
{_TYPE_COMMENT}
WHERE t.typtype = 'e' AND {_TYPE_FILTER}
"""

DOMAINS = f"""
SELECT {_TYPE_COMMON},
       pg_catalog.format_type(t.typbasetype, t.typtypmod) AS type,
       CASE WHEN t.typcollation <> b.typcollation
            THEN pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname)
       END AS collation,
       pg_catalog.pg_get_expr(t.typdefaultbin, 0) AS "default", t.typnotnull AS not_null,
       ARRAY(SELECT ARRAY[k.conname::text, pg_catalog.pg_get_constraintdef(k.oid)]
             FROM pg_catalog.pg_constraint k WHERE k.contypid = t.oid AND k.contype = 'c'
             ORDER BY k.conname) AS constraints
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
{_TYPE_COMMENT}
JOIN pg_catalog.pg_type b ON b.oid = t.typbasetype
LEFT JOIN pg_catalog.pg_collation co ON co.oid = t.typcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
WHERE t.typtype = 'd' AND {_TYPE_FILTER}
"""

COMPOSITES = f"""
SELECT {_TYPE_COMMON},
       ARRAY(SELECT ARRAY[a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod),
                          CASE WHEN a.attcollation <> at.typcollation THEN
                               pg_catalog.quote_ident(cn.nspname) || '.'
                               || pg_catalog.quote_ident(co.collname) END]
             FROM pg_catalog.pg_attribute a
             JOIN pg_catalog.pg_type at ON at.oid = a.atttypid
             LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
             LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
             WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum) AS members
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
{_TYPE_COMMENT}
JOIN pg_catalog.pg_class c ON c.oid = t.typrelid
WHERE t.typtype = 'c' AND c.relkind = 'c' AND {_TYPE_FILTER}
"""
