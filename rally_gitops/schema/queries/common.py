"""SQL fragments the catalog queries share."""

from __future__ import annotations

# a user schema: not a system one (pg_catalog, pg_toast, pg_temp_N...) nor an excluded one (the
# names in the CTE ``skip`` that introspect's one statement starts with)
USER_SCHEMA = (
    "({n}.nspname NOT LIKE 'pg\\_%%' AND {n}.nspname <> 'information_schema' "
    "AND {n}.nspname <> ALL((SELECT names FROM skip)::pg_catalog.text[]))"
)


def user_schema(alias: str) -> str:
    """The filter keeping namespace ``alias`` when it is a user schema."""
    return USER_SCHEMA.format(n=alias)


def not_extension_member(catalog: str, oid: str) -> str:
    """The filter dropping objects of ``catalog`` that an extension created (deptype ``e``)."""
    return (
        "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e "
        f"WHERE e.classid = 'pg_catalog.{catalog}'::pg_catalog.regclass "
        f"AND e.objid = {oid} AND e.deptype = 'e')"
    )


def acl(column: str, kind: str, owner: str) -> str:
    """The privileges as text, with NULL (the default) spelled out so both forms compare equal."""
    return (
        f"coalesce({column}, pg_catalog.acldefault('{kind}', {owner}))::text[] AS acl, "
        f"pg_catalog.pg_get_userbyid({owner}) AS owner"
    )


def names(array: str, relation: str) -> str:
    """The column names of attribute numbers ``array`` of ``relation``, in array order."""
    return (
        "ARRAY(SELECT a.attname::text FROM pg_catalog.unnest("
        f"{array}) WITH ORDINALITY u(num, ord) JOIN pg_catalog.pg_attribute a "
        f"ON a.attrelid = {relation} AND a.attnum = u.num ORDER BY u.ord)"
    )


def comment(alias: str, catalog: str, oid: str, subid: str = "0") -> str:
    """A LEFT JOIN of ``alias`` (a ``pg_description`` row, column ``description``) to the
    object ``oid`` of ``catalog``: ``obj_description`` is a SQL function, and calling it per row
    made the comments a third of the catalog queries' time."""
    return (
        f"LEFT JOIN pg_catalog.pg_description {alias} ON {alias}.objoid = {oid} "
        f"AND {alias}.classoid = 'pg_catalog.{catalog}'::pg_catalog.regclass "
        f"AND {alias}.objsubid = {subid}"
    )
