"""Templates that ``rally-gitops init`` writes (package data)."""
