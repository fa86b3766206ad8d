from __future__ import annotations

from rally_gitops.main import console

raise SystemExit(console())
