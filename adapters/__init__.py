"""Adapters: one transport or vendor API each; no business rules, no Temporal."""
