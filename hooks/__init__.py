"""Thin pre-commit entry points (installed as ``rally_gitops_hooks``); the work is elsewhere."""
