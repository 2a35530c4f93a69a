"""The small pieces every layer may use: standard library only, no I/O.

What the SDK shares with the server (signing and verification per Standard Webhooks,
the error base class, Retry-After parsing, the times we read and write in RFC 3339),
and what the server's layers share without importing each other (a token bucket, the
background loops' asyncio helpers). Nothing here imports the rest of pagewire.
"""
