"""Tests of the built packages: sdist and wheel installed in fresh virtual environments."""
