"""The devprov client SDK: a typed async client of the provisioning API."""
