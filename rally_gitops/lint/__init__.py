"""The migration linter: file, grammar and safety-rule layers (replay and history beside it)."""
