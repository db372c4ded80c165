"""Strategies: the business rules of each device family, pure and free of I/O.

A strategy says which devices it serves, where its steps run, and how it judges a
device (pre-check rules). Its workflow in `workflows/` runs the lifecycle.
"""
