"""The `vnotary` command: one entry point, one subcommand per part."""
