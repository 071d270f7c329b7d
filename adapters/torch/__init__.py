"""PyTorch: ``torch.nn`` and ``torch.functional`` targets, their documented sizes and the calls
``port`` reads."""
