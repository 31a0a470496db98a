"""MQTT ingest and the verify-then-store pipeline.

Imports notary_core, collector.store, collector.log and collector's top-level modules.
"""
