"""`vnotary demo`: the end-to-end demo on real components (broker, chain, collector, agent)."""
