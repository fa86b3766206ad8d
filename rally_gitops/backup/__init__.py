"""Backups: taking, verifying, storing, listing and restoring them."""
