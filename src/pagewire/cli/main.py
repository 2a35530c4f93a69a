"""pagewire: run the service (serve, worker, migrate, keys) and use it (submit, jobs,
endpoints, trigger, messages, listen, demo)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from pagewire import __version__

if TYPE_CHECKING:  # the commands import what they use when they run: a quick --help
    from prometheus_client import CollectorRegistry

    from pagewire.runtime import BackgroundLoop, Services
    from pagewire.settings import Settings
    from pagewire.store import Store

T = TypeVar("T")

log = logging.getLogger("pagewire.cli")


def _settings(args: argparse.Namespace) -> Settings:
    """The settings of a command that runs the service or uses its database: such a
    process writes only pagewire's own files, none for other users (umask 077)."""
    import os

    from pagewire.settings import Settings

    os.umask(0o077)

    overrides = {}
    if getattr(args, "database_url", None):
        overrides["database_url"] = args.database_url
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = args.data_dir
    settings = Settings(**overrides)
    from pagewire.telemetry import logs

    logs.configure(settings.log_format, settings.log_level)
    return settings


def _require_blob_store(settings: Settings) -> None:
    """Stop at start-up (exit 1, the reason, no traceback) when the blob store is missing
    or unreachable: better than a process that fails every upload or job it takes."""
    from pagewire.errors import BlobStoreUnavailable
    from pagewire.runtime import check_blob_store

    try:
        asyncio.run(check_blob_store(settings))
        return
    except BlobStoreUnavailable as error:
        message = error.message
    # The error's traceback keeps the store's client alive in reference cycles; a client
    # still alive when the interpreter exits aborts the process (SIGABRT, not exit 1).
    gc.collect()
    raise SystemExit(f"pagewire cannot use its blob store: {message}")


def _require_sandbox(settings: Settings) -> None:
    """``PAGEWIRE_EXTRACTOR_SANDBOX=required`` on a kernel without Landlock: exit 1 with the
    reason, before anything starts (from serve's lifespan it would be a traceback, exit 3).
    Otherwise it says which sandbox the extractor children will apply."""
    from pagewire.worker.sandboxing import choose

    choose(settings.extractor_sandbox)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from pagewire.app import create_app
    from pagewire.cli.reachable import ready_to_serve

    settings = _settings(args)
    _require_blob_store(settings)
    if not args.no_worker:
        _require_sandbox(settings)
    # The database (waited for while down), its migrations and the encryption keys are
    # checked before uvicorn starts: what fails in its lifespan exits 3 with a traceback.
    ready = False

    async def check(stop: asyncio.Event) -> None:
        nonlocal ready
        ready = await ready_to_serve(settings, stop)

    _run_until_signal(check)
    if not ready:  # SIGTERM or SIGINT while waiting for the database
        return 0
    host = args.host or settings.host  # a flag wins over PAGEWIRE_HOST / PAGEWIRE_PORT
    port = settings.port if args.port is None else args.port
    if args.public_url:
        settings = settings.model_copy(update={"public_url": args.public_url})
    elif "PAGEWIRE_PUBLIC_URL" not in __import__("os").environ:
        settings = settings.model_copy(update={"public_url": f"http://{host}:{port}"})
    app = create_app(settings, run_worker=not args.no_worker, run_dispatcher=not args.no_dispatch)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        lifespan="on",
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http="httptools",
        server_header=False,  # no "server: uvicorn" banner for scanners
        timeout_graceful_shutdown=int(settings.drain_seconds) + 5,
    )
    # uvicorn drains on SIGTERM, then raises the signal again with the handler that was
    # in place before it started; with the default one the process would die of the
    # signal (-15) after a clean shutdown. A drained stop is a success: exit 0 (and a
    # SIGTERM that comes before uvicorn listens ends the process with 0 too).
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.Server(config).run()
    return 0


def _exit_cleanly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _run_until_signal(main: Callable[[asyncio.Event], Awaitable[None]]) -> int:
    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    _run(runner())
    return 0


def _run(main: Coroutine[Any, Any, Any]) -> Any:
    """Run a long-lived loop (worker, dispatcher) on uvloop where it exists, as serve does."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def _run_loop(
    args: argparse.Namespace,
    make_loop: Callable[[Services, CollectorRegistry | None], BackgroundLoop],
    *,
    queue_metrics: bool,
) -> int:
    """Run a background loop (worker or dispatcher) until SIGINT/SIGTERM, then drain it.

    ``make_loop(services, registry)``: with a metrics port, ``registry`` is the one
    served on it (the services' database gauges read before each scrape); else None.
    """
    from pagewire.cli.reachable import open_when_reachable, unusable
    from pagewire.errors import StoreUnavailable
    from pagewire.runtime import SchemaNotCurrent, open_services
    from pagewire.telemetry.metrics_server import serve_metrics

    settings = _settings(args)
    if args.metrics_port is not None:
        settings = settings.model_copy(update={"metrics_port": args.metrics_port})
    if args.metrics_host:
        settings = settings.model_copy(update={"metrics_host": args.metrics_host})

    async def main(stop: asyncio.Event) -> None:
        async with contextlib.AsyncExitStack() as stack:
            try:
                services = await open_when_reachable(
                    stack,
                    lambda: open_services(
                        settings, migrate="require_current", queue_metrics=queue_metrics
                    ),
                    stop,
                )
            except (StoreUnavailable, SchemaNotCurrent) as error:
                raise unusable(error) from None
            if services is None:  # stopped while waiting for the database
                return
            registry = None
            if settings.metrics_port is not None:
                registry = services.registry
                where = f"{settings.metrics_host}:{settings.metrics_port}"
                try:
                    await stack.enter_async_context(
                        serve_metrics(
                            registry,
                            settings.metrics_host,
                            settings.metrics_port,
                            services.refresh_metrics,
                        )
                    )
                except OSError as error:
                    raise SystemExit(
                        f"cannot serve metrics on {where}: {error.strerror or error}"
                    ) from None
            loop = make_loop(services, registry)
            task = asyncio.create_task(loop.run())
            await stop.wait()
            loop.stop()
            await task

    return _run_until_signal(main)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run jobs; its /metrics reports the job queue, read from the database at each scrape."""
    from pagewire.runtime import new_worker

    settings = _settings(args)
    _require_blob_store(settings)
    _require_sandbox(settings)
    return _run_loop(
        args,
        lambda services, registry: new_worker(services, concurrency=args.concurrency),
        queue_metrics=True,
    )


def cmd_dispatch(args: argparse.Namespace) -> int:
    """Send webhooks; its /metrics reports its own deliveries (the queue is others' to report)."""
    from pagewire.runtime import new_dispatcher

    return _run_loop(
        args,
        lambda services, registry: new_dispatcher(
            services, registry=registry, concurrency=args.concurrency
        ),
        queue_metrics=False,
    )


def cmd_migrate(args: argparse.Namespace) -> int:
    from pagewire.runtime import open_services
    from pagewire.store.migrate import current_revision

    settings = _settings(args)

    async def main() -> None:
        async with open_services(settings, listen=False) as services:
            print(f"database at revision {await current_revision(services.store.db)}")

    asyncio.run(main())
    return 0


def _with_store(args: argparse.Namespace, action: Callable[[Store], Awaitable[T]]) -> T:
    """``action(store)`` on the service's migrated database (never a new one)."""
    from pagewire.cli.keys import with_existing_store

    return with_existing_store(_settings(args), action)


def _with_settings(command: Callable[[argparse.Namespace, Settings], int]) -> Callable[..., int]:
    return lambda args: command(args, _settings(args))


def cmd_encryption_rotate(args: argparse.Namespace) -> int:
    """Seal every stored secret again with the first key of PAGEWIRE_ENCRYPTION_KEYS."""
    from pagewire.store.at_rest import Resealed

    async def action(store: Store) -> Resealed:
        return await store.at_rest.reseal(rotate=True)

    done = _with_store(args, action)
    print(
        f"sealed with key {done.key_id}: {done.values} values in {done.endpoints} endpoints, "
        f"{done.responses} stored responses"
    )
    retired = ", ".join(done.retired_keys) or "none"
    print(f"keys no longer used by this database (may leave the list now): {retired}")
    return 0


def cmd_encryption_new_key(args: argparse.Namespace) -> int:
    from pagewire.security.encryption import new_key_entry

    print(new_key_entry())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pagewire.cli import demo

    return demo.run(Path(args.file) if args.file else None, port=args.port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pagewire", description=__doc__)
    parser.add_argument("--version", action="version", version=f"pagewire {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", help="overrides PAGEWIRE_DATABASE_URL")
    common.add_argument("--data-dir", help="overrides PAGEWIRE_DATA_DIR")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="run the API (+ workers, dispatcher)")
    serve.add_argument("--host", help="address to bind (PAGEWIRE_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (PAGEWIRE_PORT, default 8000)")
    serve.add_argument("--public-url", help="overrides PAGEWIRE_PUBLIC_URL")
    serve.add_argument("--no-worker", action="store_true", help="do not run jobs here")
    serve.add_argument("--no-dispatch", action="store_true", help="do not send webhooks here")
    serve.set_defaults(func=cmd_serve)

    metrics = argparse.ArgumentParser(add_help=False)
    metrics.add_argument(
        "--metrics-port", type=int, help="serve /metrics on this port (PAGEWIRE_METRICS_PORT)"
    )
    metrics.add_argument(
        "--metrics-host", help="address for /metrics (PAGEWIRE_METRICS_HOST, default 127.0.0.1)"
    )

    worker = sub.add_parser("worker", parents=[common, metrics], help="run jobs (scale-out)")
    worker.add_argument("--concurrency", type=int, help="jobs at once (default: cores)")
    worker.set_defaults(func=cmd_worker)

    dispatch = sub.add_parser(
        "dispatch", parents=[common, metrics], help="send webhooks (scale-out)"
    )
    dispatch.add_argument("--concurrency", type=int, help="requests in flight at once")
    dispatch.set_defaults(func=cmd_dispatch)

    migrate = sub.add_parser("migrate", parents=[common], help="apply database migrations")
    migrate.set_defaults(func=cmd_migrate)

    from pagewire.cli import keys

    keys.register(sub, common, _with_settings)
    encryption = sub.add_parser(
        "encryption", help="the keys that seal webhook secrets at rest"
    ).add_subparsers(dest="encryption", required=True)
    rotate = encryption.add_parser(
        "rotate",
        parents=[common],
        help="seal every stored secret again with the first key of PAGEWIRE_ENCRYPTION_KEYS",
    )
    rotate.set_defaults(func=cmd_encryption_rotate)
    new_key = encryption.add_parser(
        "new-key", help="print a new key entry (id:base64) for PAGEWIRE_ENCRYPTION_KEYS"
    )
    new_key.set_defaults(func=cmd_encryption_new_key)
    from pagewire.cli import client_commands as cli_client

    cli_client.register(sub)
    demo = sub.add_parser("demo", help="the whole flow on a sample document, locally")
    demo.add_argument("file", nargs="?", help="a document (default: the shipped sample filing)")
    demo.add_argument("--port", type=int, help="the service's port (default: a free one)")
    demo.set_defaults(func=cmd_demo)
    from pagewire.cli import completion

    completion.register(sub, parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    from pagewire.security.encryption import EncryptionKeyError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except EncryptionKeyError as error:
        print(f"pagewire: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
