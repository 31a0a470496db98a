"""The in-vehicle agent: capture -> batch -> seal -> spool -> publish."""
