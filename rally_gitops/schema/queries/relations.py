"""Catalog queries for tables and what belongs to them, sequences and views."""

from __future__ import annotations

from rally_gitops.schema.queries.common import (
    acl,
    comment,
    names,
    not_extension_member,
    user_schema,
)

_REL_FILTER = f"{user_schema('n')} AND {not_extension_member('pg_class', 'c.oid')}"
_REL_JOIN = "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"

TABLES = f"""
SELECT n.nspname AS schema, c.relname AS name, c.relkind = 'p' AS partitioned,
       c.relispartition AS is_partition,
       CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS partition_key,
       CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid)
       END AS partition_bound,
       ARRAY(SELECT i.inhparent::pg_catalog.regclass::text FROM pg_catalog.pg_inherits i
             WHERE i.inhrelid = c.oid ORDER BY i.inhseqno) AS parents,
       c.relpersistence = 'u' AS unlogged, coalesce(c.reloptions, '{{}}')::text[] AS options,
       c.relrowsecurity AS rls_enabled, c.relforcerowsecurity AS rls_forced,
       {acl("c.relacl", "r", "c.relowner")},
       ds.description AS comment
FROM pg_catalog.pg_class c {_REL_JOIN}
{comment("ds", "pg_class", "c.oid")}
WHERE c.relkind IN ('r', 'p') AND {_REL_FILTER}
"""

COLUMNS = f"""
SELECT n.nspname AS schema, c.relname AS "table", a.attname AS name,
       pg_catalog.row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS position,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
       CASE WHEN a.attcollation <> t.typcollation
            THEN pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname)
       END AS collation,
       CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid)
       END AS "default",
       a.attnotnull AS not_null, a.attislocal AS local, a.attidentity AS identity,
       a.attgenerated AS generated,
       CASE WHEN a.attgenerated <> '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid)
       END AS generated_expression,
       CASE WHEN a.attidentity <> '' THEN
       pg_catalog.format('AS %%s START %%s INCREMENT %%s MINVALUE %%s MAXVALUE %%s CACHE %%s%%s',
                         pg_catalog.format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement,
                         s.seqmin, s.seqmax, s.seqcache,
                         CASE WHEN s.seqcycle THEN ' CYCLE' ELSE '' END)
       END AS identity_options,
       coalesce(a.attacl::text[], '{{}}') AS acl,
       ds.description AS comment
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid {_REL_JOIN}
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
{comment("ds", "pg_class", "a.attrelid", "a.attnum")}
-- an identity column's sequence (a join: a subquery per column re-read pg_sequence each time)
LEFT JOIN (pg_catalog.pg_depend dep JOIN pg_catalog.pg_sequence s ON s.seqrelid = dep.objid)
       ON a.attidentity <> '' AND dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum
      AND dep.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND dep.deptype = 'i'
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') AND {_REL_FILTER}
"""

# 'n' (NOT NULL, PostgreSQL 18) is the column's not_null; 't' (constraint trigger) a trigger
CONSTRAINTS = f"""
SELECT n.nspname AS schema, c.relname AS "table", k.conname AS name, k.contype AS type,
       pg_catalog.pg_get_constraintdef(k.oid) AS definition,
       {names("k.conkey", "k.conrelid")} AS columns,
       rn.nspname AS ref_schema, r.relname AS ref_table,
       {names("k.confkey", "k.confrelid")} AS referenced_columns,
       k.condeferrable AS deferrable, k.condeferred AS deferred, k.convalidated AS validated,
       k.conislocal AS local,
       ds.description AS comment
FROM pg_catalog.pg_constraint k
JOIN pg_catalog.pg_class c ON c.oid = k.conrelid {_REL_JOIN}
LEFT JOIN pg_catalog.pg_class r ON r.oid = k.confrelid
LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace
{comment("ds", "pg_constraint", "k.oid")}
WHERE k.contype IN ('p', 'u', 'f', 'c', 'x') AND {_REL_FILTER}
"""

INDEXES = f"""
SELECT n.nspname AS schema, ic.relname AS name, c.relname AS "table", am.amname AS method,
       x.indisunique AS unique, pg_catalog.pg_get_expr(x.indpred, x.indrelid) AS predicate,
       ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = ic.oid AND a.attnum > x.indnkeyatts ORDER BY a.attnum) AS include,
       k.conname AS constraint, pg_catalog.pg_get_indexdef(ic.oid) AS definition,
       EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h WHERE h.inhrelid = ic.oid) AS inherited,
       ds.description AS comment
FROM pg_catalog.pg_index x
JOIN pg_catalog.pg_class ic ON ic.oid = x.indexrelid
JOIN pg_catalog.pg_class c ON c.oid = x.indrelid {_REL_JOIN}
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
LEFT JOIN pg_catalog.pg_constraint k
       ON k.conindid = ic.oid AND k.conrelid = x.indrelid AND k.contype IN ('p', 'u', 'x')
{comment("ds", "pg_class", "ic.oid")}
WHERE c.relkind IN ('r', 'p', 'm') AND {_REL_FILTER}
"""

SEQUENCES = f"""
SELECT n.nspname AS schema, c.relname AS name,
       pg_catalog.format_type(s.seqtypid, NULL) AS data_type, s.seqstart AS start,
       s.seqincrement AS increment, s.seqmin AS minimum, s.seqmax AS maximum,
       s.seqcache AS cache, s.seqcycle AS cycle,
       (SELECT pg_catalog.quote_ident(tn.nspname) || '.' || pg_catalog.quote_ident(t.relname)
               || '.' || pg_catalog.quote_ident(a.attname)
        FROM pg_catalog.pg_depend d
        JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
        JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
        JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
          AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype = 'a'
          AND d.refobjsubid > 0) AS owned_by,
       {acl("c.relacl", "s", "c.relowner")},
       ds.description AS comment
FROM pg_catalog.pg_sequence s
JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid {_REL_JOIN}
{comment("ds", "pg_class", "c.oid")}
WHERE {_REL_FILTER}
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend i WHERE i.objid = c.oid
                  AND i.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                  AND i.deptype = 'i')
"""

VIEWS = f"""
SELECT n.nspname AS schema, c.relname AS name, c.relkind = 'm' AS materialized,
       pg_catalog.pg_get_viewdef(c.oid) AS definition,
       coalesce(c.reloptions, '{{}}')::text[] AS options,
       {acl("c.relacl", "r", "c.relowner")},
       ds.description AS comment
FROM pg_catalog.pg_class c {_REL_JOIN}
{comment("ds", "pg_class", "c.oid")}
WHERE c.relkind IN ('v', 'm') AND {_REL_FILTER}
"""

TRIGGERS = f"""
SELECT n.nspname AS schema, c.relname AS "table", t.tgname AS name,
       pg_catalog.pg_get_triggerdef(t.oid) AS definition, t.tgenabled AS enabled,
       t.tgparentid <> 0 AS inherited,
       ds.description AS comment
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid {_REL_JOIN}
{comment("ds", "pg_trigger", "t.oid")}
WHERE NOT t.tgisinternal AND {_REL_FILTER}
"""

POLICIES = f"""
SELECT n.nspname AS schema, c.relname AS "table", p.polname AS name, p.polcmd AS command,
       p.polpermissive AS permissive,
       ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(r) END
             FROM pg_catalog.unnest(p.polroles) r ORDER BY 1) AS roles,
       pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS using,
       pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS "check",
       ds.description AS comment
FROM pg_catalog.pg_policy p
JOIN pg_catalog.pg_class c ON c.oid = p.polrelid {_REL_JOIN}
{comment("ds", "pg_policy", "p.oid")}
WHERE {_REL_FILTER}
"""
