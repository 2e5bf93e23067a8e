"""The command line: one module per command group, a shared `common`."""
