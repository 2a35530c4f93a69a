"""The benches' webhook receiver: a fast HTTP/1.1 server in its own process.

    python bench/_webhook_receiver.py PORT

It stands in for a customer's server that answers at once, so that what a
bench measures is the sender, not the receiver. On two cores the receiver
shares the machine with the dispatcher and PostgreSQL, and every microsecond it
spends per request is taken from them (an aiohttp application cost 65 µs of CPU
per request; this costs a fraction of that). It parses requests with httptools
(the parser uvicorn uses) on uvloop and keeps connections alive.

Routes:
    POST /hook...   record the arrival time of its ``webhook-id``, answer 204
    POST /dead      accept and never answer (a black hole), until /reset
    GET  /stats     {"count": n}, or ?times=1 for {webhook_id: arrival time}
    POST /reset     forget the arrivals, answer the black hole's requests
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httptools
import uvloop

NO_CONTENT = b"HTTP/1.1 204 No Content\r\n\r\n"  # no body, so no length (RFC 9110)

arrived: dict[str, float] = {}
hung: list[asyncio.Transport] = []


def json_response(value: object) -> bytes:
    body = json.dumps(value).encode()
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )


class Receiver(asyncio.Protocol):
    __slots__ = ("parser", "transport", "url", "webhook_id")

    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.webhook_id = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
            self.transport.close()

    # httptools' callbacks, one request at a time on this connection

    def on_message_begin(self) -> None:
        self.url = b""
        self.webhook_id = b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"webhook-id":
            self.webhook_id = value

    def on_message_complete(self) -> None:
        assert self.transport is not None
        path, _, query = self.url.partition(b"?")
        if path == b"/hook":
            arrived[self.webhook_id.decode()] = time.time()
            self.transport.write(NO_CONTENT)
        elif path == b"/dead":
            hung.append(self.transport)
            return
        elif path == b"/stats":
            self.transport.write(
                json_response(arrived if b"times=1" in query else {"count": len(arrived)})
            )
        elif path == b"/reset":
            arrived.clear()
            for transport in hung:
                if not transport.is_closing():
                    transport.write(NO_CONTENT)
            hung.clear()
            self.transport.write(json_response({}))
        else:
            self.transport.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
        if not self.parser.should_keep_alive():
            self.transport.close()


async def serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(
        Receiver, "127.0.0.1", port, backlog=1024
    )
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(serve(int(sys.argv[1])))
