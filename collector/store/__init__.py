"""Durable storage of batches, quarantine and the log: SQLite and PostgreSQL backends.

Imports notary_core and collector.log.tree; nothing from collector.api or collector.access.
"""
