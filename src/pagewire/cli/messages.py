"""``pagewire messages list|get|resend`` (the events sent, every attempt) and ``event-types``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from pagewire.cli.client_commands import EXIT_OK, client_from, json_option, reporting_errors
from pagewire.cli.tables import fields, print_json, table, when
from pagewire.client import Message


def _latency(ms: float | None) -> str | None:
    return f"{ms:.0f} ms" if ms is not None else None


@reporting_errors
def cmd_list(args: argparse.Namespace) -> int:
    found: list[Message] = []
    with client_from(args) as client:
        listed = client.webhooks.list_messages(
            event_type=args.type,
            job_id=args.job,
            after=args.after,
            before=args.before,
            page_size=min(args.limit, 100),
        )
        for message in listed:
            found.append(message)
            if len(found) >= args.limit:
                break
    if args.json:
        print_json([m.raw for m in found])
    else:
        rows = [(m.id, m.type, m.job_id, when(m.created_at)) for m in found]
        print(table(("ID", "TYPE", "JOB", "CREATED"), rows))
    return EXIT_OK


def show_message(message: Message) -> str:
    head = fields(
        [
            ("message", message.id),
            ("type", message.type),
            ("job", message.job_id),
            ("created", when(message.created_at)),
        ]
    )
    deliveries = table(
        ("ENDPOINT", "STATUS", "ATTEMPTS", "NEXT ATTEMPT"),
        [
            (d.endpoint_id, d.status, d.attempt_count, when(d.next_attempt_at))
            for d in message.deliveries
        ],
    )
    attempts = table(
        ("TIME", "ENDPOINT", "HTTP", "LATENCY", "ERROR"),
        [
            (when(a.created_at), d.endpoint_id, a.status_code, _latency(a.latency_ms), a.error)
            for d in message.deliveries
            for a in d.attempts
        ],
    )
    payload = json.dumps(message.payload, indent=2)
    return f"{head}\n\n{deliveries}\n\n{attempts}\n\npayload\n{payload}"


@reporting_errors
def cmd_get(args: argparse.Namespace) -> int:
    with client_from(args) as client:
        message = client.webhooks.get_message(args.message_id)
    if args.json:
        print_json(message.raw)
    else:
        print(show_message(message))
    return EXIT_OK


@reporting_errors
def cmd_resend(args: argparse.Namespace) -> int:
    with client_from(args) as client:
        count = client.webhooks.resend_message(args.message_id, endpoint_id=args.endpoint)
    if args.json:
        print_json({"requeued": count})
    else:
        print(f"message {args.message_id} queued again for {count} endpoint(s)")
    return EXIT_OK


@reporting_errors
def cmd_event_types(args: argparse.Namespace) -> int:
    with client_from(args) as client:
        types = client.webhooks.list_event_types()
    if args.json:
        print_json([{"type": t.type, "description": t.description, "schema": t.schema,
                     "example": t.example} for t in types])  # fmt: skip
    else:
        print(table(("TYPE", "DESCRIPTION"), [(t.type, t.description) for t in types]))
    return EXIT_OK


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    messages = sub.add_parser("messages", help="webhook messages sent, with every attempt")
    actions = messages.add_subparsers(dest="messages", required=True)
    listing = actions.add_parser("list", parents=[common], help="messages, newest first")
    listing.add_argument("--type", help="event type(s), comma-separated")
    listing.add_argument("--job", metavar="JOB_ID", help="only this job's")
    listing.add_argument("--after", metavar="TIME", help="created at or after (RFC 3339 or epoch)")
    listing.add_argument("--before", metavar="TIME", help="created before (RFC 3339 or epoch)")
    listing.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    json_option(listing)
    listing.set_defaults(func=cmd_list)
    get = actions.add_parser("get", parents=[common], help="one message and every attempt")
    get.add_argument("message_id", metavar="ID")
    json_option(get)
    get.set_defaults(func=cmd_get)
    resend = actions.add_parser("resend", parents=[common], help="send it again (same id)")
    resend.add_argument("message_id", metavar="ID")
    resend.add_argument("--endpoint", metavar="ENDPOINT_ID", help="only to this endpoint")
    json_option(resend)
    resend.set_defaults(func=cmd_resend)

    types = sub.add_parser(
        "event-types", parents=[common], help="the event types, with schema and example (--json)"
    )
    json_option(types)
    types.set_defaults(func=cmd_event_types)
