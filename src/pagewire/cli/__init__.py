"""The ``pagewire`` command: run the service and use it."""

from pagewire.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
