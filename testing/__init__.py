"""Helpers for the test suite (kept out of ``tests/`` like pre-commit's ``testing/``)."""
