"""The catalog queries, one per object kind, each reading every object of its kind at once.

They run under ``search_path = ''`` so that ``pg_get_*def``, ``pg_get_expr``, ``format_type`` and
``regclass`` texts come back schema-qualified. ``%(skip)s`` is the list of excluded schemas (the
ledger's); system schemas and objects owned by an extension (``pg_depend`` deptype ``e``) are
left out here, so no member of an extension ever reaches the model.
"""
