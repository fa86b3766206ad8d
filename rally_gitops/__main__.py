from __future__ import annotations

from rally_gitops.main import main

raise SystemExit(main())
