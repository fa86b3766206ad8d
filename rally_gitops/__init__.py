"""rally-gitops: safe PostgreSQL schema delivery from a laptop to staging and production."""

from __future__ import annotations

__version__ = "0.1.0"
