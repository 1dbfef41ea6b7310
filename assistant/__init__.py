"""Iris's background service and command-line commands."""
