"""Tests of collector.log."""
