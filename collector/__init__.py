"""The collector: verified ingest, transparency log, anchoring and the evidence API."""
