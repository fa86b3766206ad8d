"""Delivery: the GitHub client, smoke tests, HTTP probes and releases."""
