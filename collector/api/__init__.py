"""The HTTP API (FastAPI): app factory, routes, signed-request authentication.

May import the rest of the collector and notary_core.
"""
