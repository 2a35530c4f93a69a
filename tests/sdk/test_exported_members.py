"""The SDK's public names are deliberate: ``__all__`` is exactly what a user may import."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types

import pagewire
import pagewire.client

TOP_LEVEL = {
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncPagewire",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "NotFoundError",
    "Pagewire",
    "PagewireAPIError",
    "PermissionDeniedError",
    "RateLimitError",
    "WaitTimeoutError",
    "WebhookVerificationError",
}

CLIENT_TYPES = {
    "Attempt",
    "BBox",
    "Backoff",
    "Block",
    "Chunk",
    "ChunkBox",
    "Delivery",
    "Endpoint",
    "EventType",
    "Job",
    "JobAudit",
    "JobError",
    "JobInput",
    "JobResult",
    "JobStatus",
    "JobSubmission",
    "ListPage",
    "Message",
    "Page",
    "Progress",
    "ResultLink",
    "RetryPolicy",
    "Table",
    "WebhookEvent",
    "WebhookLink",
    "verify_webhook",
}


def test_pagewire_exports_exactly_the_clients_and_their_errors() -> None:
    assert set(pagewire.__all__) == TOP_LEVEL
    assert len(pagewire.__all__) == len(TOP_LEVEL)


def test_pagewire_client_exports_the_clients_errors_and_result_types() -> None:
    assert set(pagewire.client.__all__) == TOP_LEVEL | CLIENT_TYPES


def test_every_exported_name_resolves_and_nothing_public_is_left_out() -> None:
    for name in pagewire.__all__:
        assert getattr(pagewire, name) is getattr(pagewire.client, name)
    public = {
        name
        for name, value in vars(pagewire.client).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(pagewire.client.__all__)


def test_unknown_names_are_an_attribute_error_not_a_silent_none() -> None:
    try:
        pagewire.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as error:
        assert "NoSuchThing" in str(error)
    else:
        raise AssertionError("pagewire.NoSuchThing resolved")


BLOCK_SERVER_PACKAGES = textwrap.dedent(
    """
    import sys

    BLOCKED = {
        "fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "asyncpg",
        "aiohttp", "pydantic", "pydantic_settings", "pypdfium2", "PIL", "jinja2",
        "prometheus_client",
    }

    class RefuseServerPackages:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is a server package; the SDK must not import it")
            return None

    sys.meta_path.insert(0, RefuseServerPackages())
    """
)


def run_isolated(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK_SERVER_PACKAGES + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_sdk_imports_and_works_with_every_server_package_blocked() -> None:
    result = run_isolated(
        """
        import json
        import httpx
        import pagewire
        from pagewire import AsyncPagewire, Pagewire, WebhookVerificationError
        from pagewire.client import Job, verify_webhook

        def answer(request):
            return httpx.Response(200, json={"job_id": "job_1", "status": "completed"})

        client = Pagewire(api_key="k", transport=httpx.MockTransport(answer))
        assert client.jobs.get_job("job_1").status == "completed"
        try:
            client.webhooks.verify(b"{}", {}, "whsec_AAAA")
        except WebhookVerificationError:
            pass
        blocked = [m for m in sys.modules if m.split(".")[0] in BLOCKED]
        print(json.dumps({"ok": pagewire.Pagewire is Pagewire, "blocked": blocked}))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '{"ok": true, "blocked": []}'


def test_the_blocker_really_blocks() -> None:
    result = run_isolated("import fastapi")
    assert result.returncode != 0 and "server package" in result.stderr
