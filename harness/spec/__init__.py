"""Specs: the YAML schema of a parameter space, its loader and messages, the case strategy and
spec health."""
