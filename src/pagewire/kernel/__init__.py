"""What the SDK shares with the server: standard library only, no I/O.

Signing and verification (Standard Webhooks), the error base class, Retry-After
parsing, a token bucket, and the times we read and write (RFC 3339). Nothing here imports the rest of pagewire.
"""
