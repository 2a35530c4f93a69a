"""``pagewire endpoints ...``, ``trigger``, ``messages ...`` and ``event-types`` through the
run's real ``pagewire serve``, as a user runs them: tables with headers, ``--json`` that
parses, exit codes, one line on error."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import pytest
import standardwebhooks

from cli.catcher import Catcher

pytestmark = pytest.mark.e2e

Run = Callable[..., subprocess.CompletedProcess[str]]


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 1, done.stdout
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith("error: ") and all(w in done.stderr for w in words), done.stderr


def test_an_endpoint_is_created_listed_changed_rotated_disabled_and_deleted(
    pagewire: Run,
) -> None:
    created = ok(pagewire("endpoints", "create", "--url", "http://127.0.0.1:9/a",
                          "--description", "orders", "--events", "job.completed,job.failed"))  # fmt: skip
    endpoint_id = created.split()[1]
    assert endpoint_id.startswith("ep_") and "events       job.completed,job.failed" in created
    secret = next(line.split()[1] for line in created.splitlines() if line.startswith("secret"))
    assert secret.startswith("whsec_")

    listed = ok(pagewire("endpoints", "list")).splitlines()
    assert listed[0].split() == ["ID", "URL", "STATUS", "EVENTS", "CREATED", "DESCRIPTION"]
    [row] = [line for line in listed if line.startswith(endpoint_id)]
    assert row.split()[1:4] == ["http://127.0.0.1:9/a", "enabled", "job.completed,job.failed"]
    as_json = json.loads(ok(pagewire("endpoints", "list", "--json")))
    assert endpoint_id in [e["id"] for e in as_json] and "secret" not in as_json[0]

    changed = json.loads(ok(pagewire("endpoints", "update", endpoint_id, "--events", "all",
                                     "--description", "every order", "--json")))  # fmt: skip
    assert changed["event_types"] is None and changed["description"] == "every order"
    assert ok(pagewire("endpoints", "secret", endpoint_id)).strip() == secret
    rotated = ok(pagewire("endpoints", "rotate-secret", endpoint_id)).strip()
    assert rotated.startswith("whsec_") and rotated != secret
    assert ok(pagewire("endpoints", "secret", endpoint_id)).strip() == rotated

    disabled = ok(pagewire("endpoints", "disable", endpoint_id)).strip()
    assert disabled == f"endpoint {endpoint_id} disabled (disabled by a user)"
    shown = ok(pagewire("endpoints", "get", endpoint_id))
    assert "status       disabled (disabled by a user)" in shown
    assert ok(pagewire("endpoints", "enable", endpoint_id)).strip().endswith(" enabled")
    recovered = ok(pagewire("endpoints", "recover", endpoint_id, "--since", "2026-01-01T00:00:00Z"))
    assert recovered.strip() == f"0 failed deliveries to {endpoint_id} queued again"
    one_line_error(pagewire("endpoints", "recover", endpoint_id, "--since", "soon"), "invalid_time")

    assert (
        ok(pagewire("endpoints", "delete", endpoint_id)).strip()
        == f"deleted endpoint {endpoint_id}"
    )
    one_line_error(pagewire("endpoints", "get", endpoint_id), "404", "not_found", endpoint_id)


def test_create_refuses_a_bad_url_in_one_line(pagewire: Run) -> None:
    one_line_error(pagewire("endpoints", "create", "--url", "ftp://x"), "400")


def test_trigger_sends_the_signed_example_and_shows_the_attempt_then_messages_show_it(
    pagewire: Run,
) -> None:
    with Catcher() as app:
        created = json.loads(ok(pagewire("endpoints", "create", "--url", app.url, "--json")))
        shown = ok(pagewire("trigger", "job.completed", "--endpoint", created["id"]))
        payload, body, headers = app.next()
    # The receiver checks it with the reference library, under the endpoint's secret.
    standardwebhooks.Webhook(created["secret"]).verify(body, headers)
    assert payload["type"] == "job.completed" and payload["data"]["test"] is True
    lines = shown.splitlines()
    assert lines[0].split() == [
        "MESSAGE",
        "TYPE",
        "ENDPOINT",
        "ATTEMPT",
        "HTTP",
        "LATENCY",
        "ERROR",
    ]
    message_id, event_type, endpoint_id = lines[1].split()[:3]
    assert (event_type, endpoint_id) == ("job.completed", created["id"])
    assert headers["webhook-id"] == message_id and " 200 " in lines[1] and " ms" in lines[1]

    listed = ok(pagewire("messages", "list", "--type", "job.completed")).splitlines()
    assert listed[0].split() == ["ID", "TYPE", "JOB", "CREATED"]
    assert any(line.startswith(message_id) for line in listed[1:])
    detail = ok(pagewire("messages", "get", message_id))
    assert f"message  {message_id}" in detail
    assert "TIME" in detail and "ENDPOINT" in detail and "LATENCY" in detail
    attempt = next(line for line in detail.splitlines() if created["id"] in line and " ms" in line)
    assert " 200 " in attempt
    as_json = json.loads(ok(pagewire("messages", "get", message_id, "--json")))
    assert as_json["deliveries"][0]["attempts"][0]["status_code"] == 200
    resent = ok(pagewire("messages", "resend", message_id))
    assert resent.strip() == f"message {message_id} queued again for 1 endpoint(s)"
    ok(pagewire("endpoints", "delete", created["id"]))
    one_line_error(pagewire("messages", "get", "msg_nope"), "404")


def test_trigger_says_when_the_endpoint_fails_and_refuses_an_unknown_type(pagewire: Run) -> None:
    with Catcher(status=500) as app:
        created = json.loads(ok(pagewire("endpoints", "create", "--url", app.url, "--json")))
        try:
            failed = pagewire("trigger", "--endpoint", created["id"])
            unknown = pagewire("trigger", "job.exploded", "--endpoint", created["id"])
        finally:
            pagewire("endpoints", "delete", created["id"])

    assert failed.returncode == 1 and " 500 " in failed.stdout.splitlines()[1]
    assert failed.stderr.strip() == "error: 1 of 1 endpoints did not accept it"
    one_line_error(unknown, "unknown_event_type", "job.completed")


def test_event_types_lists_the_catalog(pagewire: Run) -> None:
    table = ok(pagewire("event-types")).splitlines()
    assert table[0].split() == ["TYPE", "DESCRIPTION"]
    assert [line.split()[0] for line in table[1:]][:3] == [
        "job.created", "job.processing", "job.completed",
    ]  # fmt: skip
    listed = json.loads(ok(pagewire("event-types", "--json")))
    completed = next(e for e in listed if e["type"] == "job.completed")
    assert completed["example"]["data"]["status"] == "completed" and completed["schema"]


def test_client_commands_without_a_server_say_so_in_one_line(pagewire: Run, live: object) -> None:
    import os

    env = {**os.environ, "PAGEWIRE_BASE_URL": "http://127.0.0.1:9", "PAGEWIRE_API_KEY": "pw_x"}
    one_line_error(pagewire("endpoints", "list", env=env), "is `pagewire serve` running?")
