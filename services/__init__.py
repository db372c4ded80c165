"""The use cases of devprov: start, follow and steer provisioning runs and fleets.

The service layer knows the domain and Temporal but not HTTP: it raises the domain
errors of `services.errors`, and each entry point (the API, the CLI) says what they
mean to its callers.
"""
