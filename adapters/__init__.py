"""Adapters: the target protocol and registry, the call plan, and one folder per framework."""
