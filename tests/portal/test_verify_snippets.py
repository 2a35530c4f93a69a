"""The "verify your signatures" snippets, copied off the page, verify a real signed delivery."""

from __future__ import annotations

import html
import json
import re
import time

import pytest

from pagewire import signing
from portal.helpers import Browser
from support import Tenant


async def test_every_snippet_on_the_page_verifies_a_pagewire_delivery(
    browser: Browser, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await browser(tenant)
    page = (await client.get("/portal/verify")).text
    snippets = [
        html.unescape(s) for s in re.findall(r'<pre class="code"[^>]*>(.*?)</pre>', page, re.S)
    ]
    secret = signing.generate_secret()
    body = json.dumps({"type": "job.completed", "data": {"job_id": "job_1"}}).encode()
    headers = signing.build_headers([secret], "msg_1", int(time.time()), body)
    monkeypatch.setenv("PAGEWIRE_WEBHOOK_SECRET", secret)
    monkeypatch.setenv("PAGEWIRE_API_KEY", "pw_not_used")

    assert len(snippets) == 3
    for snippet in snippets:
        # Everything but the SDK's last line, which fetches the job from a server.
        code = "\n".join(line for line in snippet.splitlines() if not line.startswith("job ="))
        scope = {"body": body, "headers": headers}
        exec(code, scope)
        verified = scope.get("event") or scope.get("payload")
        assert verified is not None, snippet
        if "event" in scope:
            assert scope["event"].id == "msg_1" and scope["event"].job_id == "job_1"
        else:
            assert scope["payload"]["data"]["job_id"] == "job_1"
        if "client" in scope:
            scope["client"].close()
