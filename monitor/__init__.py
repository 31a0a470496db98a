"""A monitor anyone can run: follows a log's signed checkpoints (and, later, the anchor
contract's events), checks each against the last one it verified, and on a fork or a
rewrite raises an alarm with both signed checkpoints as evidence. Imports only notary_core.
"""
