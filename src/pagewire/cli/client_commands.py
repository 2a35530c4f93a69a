"""What every client command shares: its options, its client, one line per error.

The client commands (``submit``, ``jobs``, ``endpoints``, ``trigger``, ``messages``,
``listen``) are thin wrappers around the SDK (``pagewire.client``), so they need
nothing the server needs, and they read ``PAGEWIRE_API_KEY`` and
``PAGEWIRE_BASE_URL`` just as the SDK does. Exit codes: 0 success, 1 a job that
did not complete or an API error, 2 a usage error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from pagewire.client import (
    APIConnectionError,
    Pagewire,
    PagewireAPIError,
    WaitTimeoutError,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def client_options() -> argparse.ArgumentParser:
    """The options of every client command, as a parent parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--api-key", help="overrides PAGEWIRE_API_KEY")
    common.add_argument("--base-url", help="overrides PAGEWIRE_BASE_URL (http://127.0.0.1:8000)")
    return common


def json_option(parser: argparse.ArgumentParser, help: str = "print JSON (for scripts)") -> None:
    parser.add_argument("--json", action="store_true", help=help)


def client_from(args: argparse.Namespace) -> Pagewire:
    return Pagewire(api_key=args.api_key, base_url=args.base_url)


def reporting_errors(command: Callable[[argparse.Namespace], int]) -> Callable[..., int]:
    """API errors become one readable line on stderr and exit code 1, never a traceback."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except APIConnectionError as error:
            print(f"error: {error.message} (is `pagewire serve` running?)", file=sys.stderr)
        except PagewireAPIError as error:
            print(f"error: {error}", file=sys.stderr)
        except WaitTimeoutError as error:
            print(f"error: {error.message}", file=sys.stderr)
        except (FileNotFoundError, IsADirectoryError, PermissionError) as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_USAGE
        return EXIT_FAILED

    return run


def register(sub: Any) -> None:
    """Add the client commands to the ``pagewire`` parser's subcommands."""
    from pagewire.cli import endpoints, jobs, listen, messages

    common = client_options()
    jobs.register(sub, common)
    endpoints.register(sub, common)
    messages.register(sub, common)
    listen.register(sub, common)
