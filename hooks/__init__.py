"""Thin pre-commit entry points (installed as ``rally_gitops_hooks``); the work is elsewhere.

``warm`` holds the console scripts, which hand a run to the warm hook server (``client``,
``server``) when one is there, else run the hook's ``main`` in their own process.
"""
