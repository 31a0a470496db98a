"""Tests of collector.ingest."""
