"""Workflows that combine the pure modules with the store, shared by the CLI and the API."""
