"""Login CSRF as a real browser sees it: another site's form cannot open a portal session."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from portal.browser.live import LiveServer

pytestmark = pytest.mark.browser


class AttackerSite:
    """A page on another origin whose button posts the attacker's own fresh link."""

    def __init__(self) -> None:
        self.page = b""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/html")
                self.send_header("content-length", str(len(site.page)))
                self.end_headers()
                self.wfile.write(site.page)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def offer(self, link: str) -> None:
        action, token = link.split("?token=", 1)
        self.page = (
            f'<form method="post" action="{html.escape(action)}">'
            f'<input type="hidden" name="token" value="{html.escape(token)}">'
            "<button>Claim your prize</button></form>"
        ).encode()


@pytest.fixture
def attacker() -> Iterator[AttackerSite]:
    site = AttackerSite()
    site.thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("localhost", id="cross-site"),
        pytest.param("127.0.0.1", id="same-site-another-port"),
    ],
)
def test_a_form_on_another_site_cannot_sign_the_visitor_in(
    live_server: LiveServer, attacker: AttackerSite, new_page: Any, host: str
) -> None:
    attacker.offer(live_server.portal_link(live_server.new_tenant()))
    victim = new_page(javascript=False)

    victim.goto(f"http://{host}:{attacker.port}/")
    with victim.expect_navigation() as landed:
        victim.get_by_role("button", name="Claim your prize").click()

    assert landed.value.status == 403
    assert re.search(r"another site|not from pagewire", victim.content())
    assert victim.goto(f"{live_server.url}/portal/endpoints").status == 401
