"""Durable storage of batches, quarantine and the log: one interface, SQLite and PostgreSQL backends. Imports nothing from collector.api or collector.access."""
