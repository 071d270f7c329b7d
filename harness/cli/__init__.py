"""The command line, one module per subcommand (``python -m harness``)."""
