"""Composition root: configuration → adapters → activities → Temporal workers."""
