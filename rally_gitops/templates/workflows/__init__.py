"""Workflow templates for ``rally-gitops init`` (package data)."""
