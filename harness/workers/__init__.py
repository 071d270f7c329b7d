"""Isolated framework workers: one long-lived process per framework, and the runner that sends it
cases."""
