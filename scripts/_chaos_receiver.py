"""The chaos run's webhook receiver: verifies every request and remembers what it got.

It listens on one port for the whole run. "Down" is a mode, not a closed port:
while down it reads each request (so it knows the ``webhook-id``) and then drops
the connection without answering, as a server that crashes mid-request does. The
dispatcher sees a failed attempt and must log it; the receiver has counted it. A
closed port would refuse connections the receiver could never count, and "every
attempt sent is logged" could not be checked.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import standardwebhooks
from aiohttp import web


@dataclass(frozen=True)
class Arrival:
    webhook_id: str
    at: float
    acknowledged: bool  # answered 204 (up), or dropped unanswered (down)
    sender: str | None = None  # the dispatcher process that sent it (see sender_of)
    event_type: str = ""
    job_id: str | None = None
    sequence: int | None = None


@dataclass
class Receiver:
    up: bool = True
    secret: str | None = None
    arrivals: list[Arrival] = field(default_factory=list)
    bad_signatures: int = 0
    port: int = 0
    # The senders' process ids by name, read at each request (they change at restarts).
    senders: Callable[[], dict[str, int]] = dict
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        # When and who sent it, first: a dispatcher SIGKILLed while its request is read
        # takes its socket with it.
        arrived = time.time()
        peer = request.transport.get_extra_info("peername") if request.transport else None
        sender = sender_of(peer[1], self.port, self.senders()) if peer else None
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        webhook_id = headers.get("webhook-id", "")
        if not self.up:
            self.arrivals.append(Arrival(webhook_id, arrived, False, sender))
            if request.transport is not None:
                request.transport.abort()
            raise ConnectionResetError("the receiver is down")
        if self.secret is not None:
            try:
                standardwebhooks.Webhook(self.secret).verify(body, headers)
            except standardwebhooks.WebhookVerificationError:
                self.bad_signatures += 1
        payload = json.loads(body)
        data = payload.get("data") or {}
        self.arrivals.append(
            Arrival(
                webhook_id,
                arrived,
                acknowledged=True,
                sender=sender,
                event_type=payload.get("type", ""),
                job_id=data.get("job_id"),
                sequence=data.get("sequence"),
            )
        )
        return web.Response(status=204)


def sender_of(peer_port: int, own_port: int, pids: dict[str, int]) -> str | None:
    """Which of ``pids`` holds the loopback connection from ``peer_port`` to ``own_port``
    (Linux: the socket's inode in /proc/net/tcp, then the process whose fd is that
    socket); None when none does."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if int(local.rsplit(":", 1)[1], 16) == peer_port and (
                int(remote.rsplit(":", 1)[1], 16) == own_port
            ):
                inode = fields[9]
                break
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for name, pid in pids.items():
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return name
        except OSError:
            continue
    return None
