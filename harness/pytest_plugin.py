"""pytest plugin entry point (filled in by the end-to-end work)."""
