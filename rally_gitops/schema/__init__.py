"""Schema awareness: an exact model of a live PostgreSQL schema, its diff, reports and diagrams."""
