"""What guards data and the network: the SSRF guard, secrets sealed at rest, a private data directory."""
