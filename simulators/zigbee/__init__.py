"""Simulated Zigbee: a coordinator radio for zigpy and Zigbee 3.0 devices that join it.

See docs/simulators.md and docs/zigbee.md for the devices, the fault knobs and the
`/_sim/zigbee` control API.
"""
