"""``pagewire listen``: receive, verify and print webhooks locally, like ``stripe listen``.

Each run registers a temporary endpoint pointing at a local receiver. What makes
it pleasant to develop against:

- One signing secret per machine (``$XDG_CONFIG_HOME/pagewire/listen-secret``, 0600):
  events forwarded to ``--forward-to`` are signed again with it, so the app behind
  keeps its secret across runs (``--print-secret`` prints it).
- The endpoint says what it is in its description
  (``pagewire listen <machine> expires <time>``, :mod:`pagewire.kernel.listen_marker`),
  the expiry is renewed while the run lives, and each start removes the listen
  endpoints that expired and those of this machine whose receiver is gone. A run
  killed with SIGKILL cleans nothing up itself: the worker's retention sweep removes
  its endpoint once the expiry passes, even if no ``listen`` ever runs again.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pagewire.cli.client_commands import (
    EXIT_FAILED,
    EXIT_OK,
    client_from,
    json_option,
    reporting_errors,
)
from pagewire.client import BadRequestError, Endpoint, NotFoundError, Pagewire, WebhookEvent
from pagewire.client._receiver import LocalReceiver, ReceivedDelivery
from pagewire.kernel.listen_marker import listen_marker, parse_listen_marker
from pagewire.kernel.signing import generate_secret

EXPIRES_AFTER_SECONDS = 600.0  # a listen endpoint nobody renews is stale after this
RENEW_EVERY_SECONDS = 120.0


# -- the machine's secret -------------------------------------------------------


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pagewire"


def listen_secret(directory: Path | None = None) -> str:
    """This machine's listen secret, made (0600, in a 0700 directory) on first use."""
    path = (directory or config_dir()) / "listen-secret"
    with contextlib.suppress(FileNotFoundError):
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    draft = path.with_name(f".listen-secret.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(generate_secret() + "\n")
    try:
        os.link(draft, path)  # never replaces: a run that raced us keeps its secret
    except FileExistsError:
        pass
    finally:
        draft.unlink(missing_ok=True)
    return path.read_text().strip()


def machine_of(secret: str) -> str:
    """A name for this machine's listen endpoints that reveals nothing of the secret."""
    return "m" + hashlib.sha256(secret.encode()).hexdigest()[:10]


# -- the endpoint's marker and expiry -------------------------------------------


def marker(machine: str, now: float) -> str:
    return listen_marker(machine, now + EXPIRES_AFTER_SECONDS)


def _receiver_gone(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), 1):
            return False
    except OSError:
        return True


def is_stale(endpoint: Endpoint, machine: str, now: float) -> bool:
    """A listen endpoint past its expiry, or this machine's with no receiver behind it."""
    found = parse_listen_marker(endpoint.description)
    if found is None:
        return False
    owner, expires_at = found
    if expires_at < now:
        return True
    return owner == machine and _receiver_gone(endpoint.url)


def remove_stale(client: Pagewire, machine: str) -> list[str]:
    now = time.time()
    removed = []
    for endpoint in list(client.webhooks.list_endpoints(page_size=100)):
        if is_stale(endpoint, machine, now):
            with contextlib.suppress(NotFoundError):
                client.webhooks.delete_endpoint(endpoint.id)
            removed.append(endpoint.id)
    return removed


# -- the run --------------------------------------------------------------------


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """``kill`` stops ``listen`` as cleanly as Ctrl-C: the temporary endpoint is removed."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def event_line(event: WebhookEvent) -> str:
    when = event.timestamp.strftime("%H:%M:%S") if event.timestamp else "--:--:--"
    subject = f"  {event.job_id}" if event.job_id else ""
    status = f"  {event.status}" if event.status and event.type.startswith("job.") else ""
    return f"{when}  {event.type:<15}{subject}{status}  [{event.id}]"


def delivery_line(delivery: ReceivedDelivery) -> str:
    assert delivery.event is not None
    line = event_line(delivery.event)
    if delivery.forwarded_status is not None:
        line += f"  -> {delivery.forwarded_status}"
        if delivery.forward_error:
            line += f" ({delivery.forward_error})"
    return line


def _register(
    client: Pagewire, receiver: LocalReceiver, machine: str, event_types: list[str] | None
) -> Endpoint:
    endpoint = client.webhooks.create_endpoint(
        receiver.url, description=marker(machine, time.time()), event_types=event_types
    )
    receiver.set_secret(endpoint.secret or client.webhooks.get_endpoint_secret(endpoint.id))
    return endpoint


def _open_receiver(args: argparse.Namespace, secret: str) -> LocalReceiver | None:
    try:
        return LocalReceiver(port=args.port, forward_to=args.forward_to, forward_secret=secret)
    except OSError as error:
        reason = error.strerror or str(error)
        print(f"error: cannot listen on 127.0.0.1:{args.port}: {reason.lower()}", file=sys.stderr)
        return None


@reporting_errors
def cmd_listen(args: argparse.Namespace) -> int:
    secret = listen_secret()
    if args.print_secret:
        print(secret)
        return EXIT_OK
    machine = machine_of(secret)
    event_types = [t for t in (args.events or "").split(",") if t] or None
    receiver = _open_receiver(args, secret)
    if receiver is None:
        return EXIT_FAILED
    with client_from(args) as client, _sigterm_as_interrupt(), receiver:
        removed = remove_stale(client, machine)
        if removed:
            print(f"removed stale listen endpoints: {', '.join(removed)}", file=sys.stderr)
        try:
            endpoint = _register(client, receiver, machine, event_types)
        except BadRequestError as error:
            if error.code != "url_not_allowed":
                raise
            print(
                f"error: the service refuses to call {receiver.url} ({error.message});"
                " start it with PAGEWIRE_ALLOW_PRIVATE_URLS=true (for development only)",
                file=sys.stderr,
            )
            return EXIT_FAILED
        target = f", forwarding to {args.forward_to}" if args.forward_to else ""
        # The banner goes to stderr so that stdout carries events only (pipe it to jq).
        print(
            f"Ready: listening on {receiver.url} as endpoint {endpoint.id}{target}", file=sys.stderr
        )
        print(f"Signing secret: {secret}  (Ctrl-C to stop)", file=sys.stderr, flush=True)
        current = [endpoint]  # renewed, or registered again, while the run lives
        try:
            _print_events(args, client, receiver, current, machine, event_types)
        except KeyboardInterrupt:
            pass
        finally:
            with contextlib.suppress(Exception):
                client.webhooks.delete_endpoint(current[0].id)
            print(f"removed endpoint {current[0].id}", file=sys.stderr, flush=True)
    return EXIT_OK


def _print_events(
    args: argparse.Namespace,
    client: Pagewire,
    receiver: LocalReceiver,
    current: list[Endpoint],
    machine: str,
    event_types: list[str] | None,
) -> None:
    seen = 0
    renew_at = time.monotonic() + RENEW_EVERY_SECONDS
    while args.max_events is None or seen < args.max_events:
        if time.monotonic() >= renew_at:
            renew_at = time.monotonic() + RENEW_EVERY_SECONDS
            try:
                client.webhooks.update_endpoint(
                    current[0].id, description=marker(machine, time.time())
                )
            except NotFoundError:  # another machine judged it stale (this one slept)
                current[0] = _register(client, receiver, machine, event_types)
                print(f"registered again as {current[0].id}", file=sys.stderr, flush=True)
        delivery = receiver.next_delivery(timeout=0.5)
        if delivery is None:
            continue
        if delivery.event is None:
            print(f"refused a delivery: {delivery.error}", file=sys.stderr, flush=True)
            continue
        seen += 1
        if args.json:
            print(json.dumps({"webhook_id": delivery.event.id, **delivery.event.raw}))
        else:
            print(delivery_line(delivery))
        sys.stdout.flush()


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    listen = sub.add_parser(
        "listen", parents=[common], help="receive, verify and print webhooks locally"
    )
    listen.add_argument("--forward-to", metavar="URL", help="also POST each event to your app")
    listen.add_argument("--events", help="event types to subscribe to (comma-separated)")
    listen.add_argument("--port", type=int, default=0, help="local port (default: any free one)")
    listen.add_argument("--max-events", type=int, help="exit after this many events")
    listen.add_argument(
        "--print-secret", action="store_true",
        help="print this machine's signing secret (what --forward-to's app verifies) and exit",
    )  # fmt: skip
    json_option(listen, "one JSON event per line")
    listen.set_defaults(func=cmd_listen)
