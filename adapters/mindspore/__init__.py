"""MindSpore: ``mindspore.nn`` and ``mindspore.ops`` targets, their arguments, documented sizes and
the calls ``port`` reads."""
