"""A model-based explorer of the provisioning saga (issue 15, part 4).

Seeded sequences of timed operator actions, device actions and faults drive real runs
of every strategy (HTTP Wi-Fi, Wi-Fi + vendor cloud, Improv BLE, Zigbee, a fleet) on
the Temporal dev server with real workers, adapters, simulators and the real API, many
sequences at once; the invariants of devprov's promise are checked against the
simulators' own state, and a failing sequence is shrunk to a minimal one that replays.
Sizes, seeds and replays: tests/explorer/exploration.py.
"""
