"""Strategy workflows: deterministic, no I/O; they call activities by name."""
