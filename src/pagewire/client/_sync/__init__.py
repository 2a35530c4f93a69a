"""The sync clients, generated from ``pagewire.client._async`` by ``scripts/unasync.py``."""
