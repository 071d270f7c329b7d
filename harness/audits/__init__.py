"""Audits over every target: documented sizes, named-mode equivalence, invalid inputs, and port."""
