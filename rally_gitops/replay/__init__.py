"""Replay: migrations applied on a throwaway PostgreSQL, its steps and its template cache."""
