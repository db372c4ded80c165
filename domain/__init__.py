"""Pure domain models of devprov: safe inside the Temporal workflow sandbox.

Nothing here does I/O or imports another devprov package.
"""
