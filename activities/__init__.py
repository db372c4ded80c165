"""Activities: each lifecycle step of a strategy, wrapping an adapter port.

Activities know Temporal and the ports, never a concrete transport: the worker
package injects the adapters.
"""
