"""MCU <-> gateway serial protocol: framing, checks, link authentication (see SPEC.md)."""
