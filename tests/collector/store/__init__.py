"""Tests of collector.store."""
