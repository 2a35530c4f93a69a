"""``pagewire endpoints ...`` (manage webhook endpoints) and ``pagewire trigger`` (a test event)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from pagewire.cli.client_commands import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    client_from,
    json_option,
    reporting_errors,
)
from pagewire.cli.tables import fields, print_json, table, when
from pagewire.client import Endpoint, Message, Pagewire
from pagewire.client._webhooks_base import UNSET

TRIGGER_WAIT_SECONDS = 10.0


def _state(endpoint: Endpoint) -> str:
    if endpoint.enabled:
        return "enabled"
    return f"disabled ({endpoint.disabled_reason})" if endpoint.disabled_reason else "disabled"


def _events(endpoint: Endpoint) -> str:
    return ",".join(endpoint.event_types) if endpoint.event_types else "all"


def show_endpoint(endpoint: Endpoint) -> str:
    return fields(
        [
            ("id", endpoint.id),
            ("url", endpoint.url),
            ("status", _state(endpoint)),
            ("events", _events(endpoint)),
            ("description", endpoint.description),
            ("headers", ", ".join(f"{k}: {v}" for k, v in endpoint.headers.items())),
            ("rate limit", f"{endpoint.rate_limit}/s" if endpoint.rate_limit else None),
            ("created", when(endpoint.created_at)),
            ("updated", when(endpoint.updated_at)),
        ]
    )


def _headers(pairs: list[str] | None) -> dict[str, str] | Any:
    if pairs is None:
        return UNSET
    headers: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"error: --header takes NAME=VALUE, not {pair!r}")
        headers[name] = value
    return headers


def _event_types(value: str | None) -> list[str] | Any | None:
    """``--events a,b``; ``--events all`` subscribes to every type; no flag leaves it alone."""
    if value is None:
        return UNSET
    if value == "all":
        return None
    return [t.strip() for t in value.split(",") if t.strip()]


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "description": UNSET if args.description is None else (args.description or None),
        "event_types": _event_types(args.events),
        "headers": _headers(args.header),
        "rate_limit": UNSET if args.rate_limit is None else (args.rate_limit or None),
    }


def _print_endpoint(args: argparse.Namespace, endpoint: Endpoint) -> None:
    if args.json:
        print_json(endpoint.raw)
    else:
        print(show_endpoint(endpoint))


@reporting_errors
def cmd_create(args: argparse.Namespace) -> int:
    with client_from(args) as client:
        endpoint = client.webhooks.create_endpoint(args.url, **_changes(args))
    if args.json:
        print_json(endpoint.raw)
        return EXIT_OK
    print(show_endpoint(endpoint))
    print(f"secret       {endpoint.secret}")
    print("\nVerify deliveries with this secret (`pagewire endpoints secret ID` reads it again).")
    return EXIT_OK


@reporting_errors
def cmd_list(args: argparse.Namespace) -> int:
    with client_from(args) as client:
        found = list(client.webhooks.list_endpoints(page_size=100))
    if args.json:
        print_json([e.raw for e in found])
        return EXIT_OK
    rows = [(e.id, e.url, _state(e), _events(e), when(e.created_at), e.description) for e in found]
    print(table(("ID", "URL", "STATUS", "EVENTS", "CREATED", "DESCRIPTION"), rows))
    return EXIT_OK


@reporting_errors
def cmd_get(args: argparse.Namespace) -> int:
    with client_from(args) as client:
        _print_endpoint(args, client.webhooks.get_endpoint(args.endpoint_id))
    return EXIT_OK


@reporting_errors
def cmd_update(args: argparse.Namespace) -> int:
    changes = {k: v for k, v in _changes(args).items() if v is not UNSET}
    if args.url is not None:
        changes["url"] = args.url
    if not changes:
        print("error: nothing to change: give --url, --description, --events, ...", file=sys.stderr)
        return EXIT_USAGE
    with client_from(args) as client:
        _print_endpoint(args, client.webhooks.update_endpoint(args.endpoint_id, **changes))
    return EXIT_OK


@reporting_errors
def cmd_delete(args: argparse.Namespace) -> int:
    with client_from(args) as client:
        client.webhooks.delete_endpoint(args.endpoint_id)
    print(f"deleted endpoint {args.endpoint_id}")
    return EXIT_OK


def _print_secret(args: argparse.Namespace, secret: str) -> None:
    if args.json:
        print_json({"endpoint_id": args.endpoint_id, "secret": secret})
    else:
        print(secret)


@reporting_errors
def cmd_secret(args: argparse.Namespace) -> int:
    with client_from(args) as client:
        _print_secret(args, client.webhooks.get_endpoint_secret(args.endpoint_id))
    return EXIT_OK


@reporting_errors
def cmd_rotate_secret(args: argparse.Namespace) -> int:
    with client_from(args) as client:
        secret = client.webhooks.rotate_endpoint_secret(args.endpoint_id)
    _print_secret(args, secret)
    if not args.json:
        print("the previous secret keeps signing too until its grace period ends", file=sys.stderr)
    return EXIT_OK


def _switch(enable: bool) -> Callable[[argparse.Namespace], int]:
    """``endpoints enable`` or ``endpoints disable``: the same but for the call."""

    @reporting_errors
    def command(args: argparse.Namespace) -> int:
        with client_from(args) as client:
            hooks = client.webhooks
            switch = hooks.enable_endpoint if enable else hooks.disable_endpoint
            endpoint = switch(args.endpoint_id)
        if args.json:
            print_json(endpoint.raw)
        else:
            print(f"endpoint {endpoint.id} {_state(endpoint)}")
        return EXIT_OK

    return command


cmd_enable = _switch(True)
cmd_disable = _switch(False)


@reporting_errors
def cmd_recover(args: argparse.Namespace) -> int:
    with client_from(args) as client:
        count = client.webhooks.recover_endpoint(
            args.endpoint_id, since=args.since, until=args.until
        )
    if args.json:
        print_json({"requeued": count})
    else:
        print(f"{count} failed deliveries to {args.endpoint_id} queued again")
    return EXIT_OK


# -- trigger --------------------------------------------------------------------


def first_attempts(client: Pagewire, message_id: str, wait: float) -> Message:
    """The message once each of its deliveries has an attempt (or as it is after ``wait``)."""
    deadline = time.monotonic() + wait
    while True:
        message = client.webhooks.get_message(message_id)
        done = message.deliveries and all(d.attempts for d in message.deliveries)
        if done or time.monotonic() >= deadline:
            return message
        time.sleep(0.2)


@reporting_errors
def cmd_trigger(args: argparse.Namespace) -> int:
    with client_from(args) as client:
        if args.endpoint:
            targets = [args.endpoint]
        else:
            targets = [e.id for e in client.webhooks.list_endpoints(page_size=100) if e.enabled]
            if not targets:
                print(
                    "error: no enabled endpoint: create one (`pagewire endpoints create --url URL`)"
                    " or run `pagewire listen`",
                    file=sys.stderr,
                )
                return EXIT_FAILED
        sent = [client.webhooks.send_test_event(t, args.event_type) for t in targets]
        messages = [first_attempts(client, m, args.wait) for m in sent]
    if args.json:
        print_json([m.raw for m in messages])
    else:
        rows = []
        for message in messages:
            for delivery in message.deliveries:
                last = delivery.attempts[-1] if delivery.attempts else None
                rows.append(
                    (
                        message.id,
                        message.type,
                        delivery.endpoint_id,
                        when(last.created_at) if last else "no attempt yet",
                        last.status_code if last else None,
                        f"{last.latency_ms:.0f} ms"
                        if last and last.latency_ms is not None
                        else None,
                        last.error if last else None,
                    )
                )
        print(table(("MESSAGE", "TYPE", "ENDPOINT", "ATTEMPT", "HTTP", "LATENCY", "ERROR"), rows))
    deliveries = [d for m in messages for d in m.deliveries]
    if not all(d.attempts for d in deliveries):
        print(
            f"error: no attempt recorded within {args.wait:g} s (is a dispatcher running?)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    failed = [d for d in deliveries if not 200 <= (d.attempts[-1].status_code or 0) < 300]
    if failed:
        print(
            f"error: {len(failed)} of {len(deliveries)} endpoints did not accept it",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    endpoints = sub.add_parser("endpoints", help="webhook endpoints: add, change, remove")
    actions = endpoints.add_subparsers(dest="endpoints", required=True)

    def action(name: str, func: Any, help: str, *, with_id: bool = True) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(name, parents=[common], help=help)
        if with_id:
            parser.add_argument("endpoint_id", metavar="ID")
        json_option(parser)
        parser.set_defaults(func=func)
        return parser

    def changes(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--description", help="a label ('' clears it)")
        parser.add_argument(
            "--events", metavar="TYPES", help="event types, comma-separated ('all': every type)"
        )
        parser.add_argument(
            "--header", action="append", metavar="NAME=VALUE", help="a header to send (repeat)"
        )
        parser.add_argument("--rate-limit", type=int, help="requests per second at most (0: none)")

    create = action("create", cmd_create, "add an endpoint (prints its secret)", with_id=False)
    create.add_argument("--url", required=True, help="where to POST events")
    changes(create)
    action("list", cmd_list, "every endpoint, newest first", with_id=False)
    action("get", cmd_get, "one endpoint")
    update = action("update", cmd_update, "change an endpoint (only the flags given)")
    update.add_argument("--url", help="a new URL")
    changes(update)
    action("delete", cmd_delete, "remove an endpoint and its deliveries")
    action("secret", cmd_secret, "print its signing secret")
    action("rotate-secret", cmd_rotate_secret, "a new secret (the old one signs for a while)")
    action("enable", cmd_enable, "deliver to it again")
    action("disable", cmd_disable, "stop delivering (pending deliveries fail)")
    recover = action("recover", cmd_recover, "send again what failed since a time")
    recover.add_argument("--since", required=True, help="RFC 3339 time or epoch seconds")
    recover.add_argument("--until", help="RFC 3339 time or epoch seconds")

    trigger = sub.add_parser(
        "trigger", parents=[common], help="send a signed test event and show the attempt"
    )
    trigger.add_argument(
        "event_type", nargs="?", default=None, metavar="EVENT_TYPE",
        help="e.g. job.completed (default: webhook.test; `pagewire event-types` lists them)",
    )  # fmt: skip
    trigger.add_argument("--endpoint", metavar="ID", help="only this one (default: every enabled)")
    trigger.add_argument(
        "--wait", type=float, default=TRIGGER_WAIT_SECONDS, metavar="SECONDS",
        help=f"wait this long for the first attempt (default {TRIGGER_WAIT_SECONDS:g})",
    )  # fmt: skip
    json_option(trigger)
    trigger.set_defaults(func=cmd_trigger)
