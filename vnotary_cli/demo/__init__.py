"""`vnotary demo`: the end-to-end demo on real components.

Starts a broker, a chain node, the collector and the agent; imports any part of vnotary.
"""
