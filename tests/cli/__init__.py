"""Tests of the `vnotary` command line as a whole: exit codes, help, errors, pipes."""
