"""A C2SP tlog-witness anyone can run: an insurer, an owners' association, a court's expert.

It pins the logs it watches (origin and log key), keeps per log the latest checkpoint it
cosigned (SQLite, compare-and-swap, synchronous=FULL), and cosigns a new checkpoint only if
a consistency proof shows it extends that one (docs/witness.md). Imports only notary_core.
"""
