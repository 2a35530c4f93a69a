"""``pagewire keys create|list|revoke``: API keys, written straight to the service's database.

They never create a database: run against a directory or URL where no migrated
database is, they stop with one line naming the database they looked at (the
service's data directory is usually not the current one). Each says which
database it used, on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pagewire.cli.tables import table, when

if TYPE_CHECKING:
    from pagewire.models import ApiKey, Organization
    from pagewire.settings import Settings
    from pagewire.store import Store

T = TypeVar("T")


def where(settings: Settings) -> str:
    from pagewire.store.db import database_location

    return database_location(settings.resolved_database_url)


def with_existing_store(settings: Settings, action: Callable[[Store], Awaitable[T]]) -> T:
    """``action(store)`` on the settings' database, which must exist and be migrated."""
    from pagewire.errors import PagewireError, StoreUnavailable
    from pagewire.runtime import SchemaNotCurrent, open_services

    location = where(settings)

    async def main() -> T:
        async with open_services(settings, listen=False, migrate="require_current") as services:
            return await action(services.store)

    try:
        result = asyncio.run(main())
    except StoreUnavailable as error:
        raise SystemExit(
            f"error: no usable pagewire database at {location} ({error.message}): run "
            "`pagewire migrate` or `pagewire serve` first, or point --data-dir / "
            "--database-url (PAGEWIRE_DATA_DIR / PAGEWIRE_DATABASE_URL) at the service's"
        ) from None
    except PagewireError as error:  # e.g. revoking a key that does not exist
        raise SystemExit(f"error: {error.message} (database: {location})") from None
    except SchemaNotCurrent:
        raise SystemExit(
            f"error: the database at {location} is not migrated: run `pagewire migrate` "
            "(or `pagewire serve`) first"
        ) from None
    print(f"database: {location}", file=sys.stderr)
    return result


def cmd_create(args: argparse.Namespace, settings: Settings) -> int:
    async def action(store: Store) -> tuple[ApiKey, str]:
        org = await store.keys.ensure_org(args.org)
        return await store.keys.create_key(org.id, args.name)

    key, plaintext = with_existing_store(settings, action)
    if args.json:
        print(json.dumps({"org_id": key.org_id, "api_key": plaintext, "key_id": key.id}))
    else:
        print(
            f"organization {args.org} ({key.org_id})\nkey id       {key.id}\napi key      "
            f"{plaintext}\ndatabase     {where(settings)}\n\nThe key is shown once; store it now."
        )
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    async def action(store: Store) -> tuple[list[Organization], list[ApiKey]]:
        return await store.keys.list_orgs(), await store.keys.list_keys()

    orgs, keys = with_existing_store(settings, action)
    names = {o.id: o.name for o in orgs}
    if args.json:
        rows: list[dict[str, Any]] = [
            {
                "key_id": k.id,
                "org_id": k.org_id,
                "org": names.get(k.org_id),
                "prefix": k.prefix,
                "name": k.name,
                "revoked": k.revoked_at is not None,
                "created_at": k.created_at,
                "last_used_at": k.last_used_at,
                "revoked_at": k.revoked_at,
            }
            for k in keys
        ]
        print(json.dumps(rows))
        return 0
    headers = ("KEY ID", "ORG", "PREFIX", "NAME", "STATUS", "CREATED", "LAST USED")
    print(
        table(
            headers,
            [
                (
                    k.id,
                    f"{names.get(k.org_id)} ({k.org_id})",
                    f"{k.prefix}…",
                    k.name,
                    "revoked" if k.revoked_at is not None else "active",
                    when(k.created_at),
                    when(k.last_used_at) if k.last_used_at else "never",
                )
                for k in keys
            ],
        )
    )
    return 0


def cmd_revoke(args: argparse.Namespace, settings: Settings) -> int:
    async def action(store: Store) -> ApiKey:
        return await store.keys.revoke(args.key_id)

    key = with_existing_store(settings, action)
    print(f"revoked {key.id}")
    return 0


Command = Callable[[argparse.Namespace, "Settings"], int]


def register(
    sub: Any, common: argparse.ArgumentParser, run: Callable[[Command], Callable[..., int]]
) -> None:
    """``run(command)`` gives a command its settings (main's ``--data-dir`` handling)."""
    keys = sub.add_parser("keys", help="API keys").add_subparsers(dest="keys", required=True)
    create = keys.add_parser("create", parents=[common], help="create an API key")
    create.add_argument("--org", required=True, help="organization name (created if new)")
    create.add_argument("--name", help="a label for the key")
    create.add_argument("--json", action="store_true", help="one JSON line")
    create.set_defaults(func=run(cmd_create))
    listing = keys.add_parser("list", parents=[common], help="list keys (never the keys)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run(cmd_list))
    revoke = keys.add_parser("revoke", parents=[common], help="revoke a key")
    revoke.add_argument("key_id")
    revoke.set_defaults(func=run(cmd_revoke))
