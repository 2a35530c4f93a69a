"""The clients, written once. This package is the source; ``_sync`` is generated from it.

``scripts/unasync.py`` writes each module of ``_sync`` from its namesake here
with a fixed table of token replacements (the async names and keywords become
their sync twins), and ``make lint`` fails when a generated module is stale.
Edit the modules here, then run ``.venv/bin/python scripts/unasync.py``.

Why generated, and not sans-I/O loops driven by two thin shells: most of the
clients is surface (some twenty methods, with their signatures, overloads and
docstrings), and only three short loops (retries, ``wait`` polling, pagination)
do I/O. Shells around shared loops would still repeat every signature by hand,
which is where the twins drifted; generated code repeats nothing a person writes.
"""
