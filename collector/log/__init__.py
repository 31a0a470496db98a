"""The transparency log: tree, leaves, signed checkpoints and anchoring. Imports nothing from collector.api or collector.access."""
