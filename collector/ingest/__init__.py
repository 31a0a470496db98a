"""MQTT ingest and the verify-then-store pipeline. May import notary_core, collector.store, collector.log and the collector's top-level modules."""
