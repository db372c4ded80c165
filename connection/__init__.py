"""How every devprov process reaches Temporal: the client connection and the payload codec.

API, CLI, workers, benchmarks and tests all connect through here, so every payload is
converted and encrypted the same way whichever entry point wrote it.
"""
