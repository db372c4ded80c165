"""ESP-IDF's protocomm and wifi_provisioning messages, generated from its `.proto` files.

See NOTICE for their origin and licence; `make esp-proto` regenerates the modules.
"""
