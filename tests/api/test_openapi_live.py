"""The API's documents as developers meet them, through a real server on loopback:
a client generated from /openapi.json, and /docs and /redoc in Chromium offline."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

from portal.browser.live import LiveServer
from support import Tenant

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
REDOC_BADGE = "https://cdn.redoc.ly/redoc/logo-mini.svg"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("openapi-live") / "data").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tenant(live: LiveServer) -> Tenant:
    return live.new_tenant()


# -- a generated client -------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(live: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``openapi-python-client`` run on the server's own document (no network needed),
    imported as the package ``pagewire_generated``."""
    root = tmp_path_factory.mktemp("generated")
    spec = root / "openapi.json"
    spec.write_bytes(httpx.get(f"{live.url}/openapi.json").content)
    config = root / "config.json"
    config.write_text(json.dumps({"post_hooks": []}))  # no formatter run on the output
    output = root / "pagewire_generated"
    command = [str(GENERATOR), "generate", "--path", str(spec), "--meta", "none"]
    done = subprocess.run(
        [*command, "--output-path", str(output), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout, done.stdout
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module("pagewire_generated")
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.split(".")[0] == "pagewire_generated"]:
            del sys.modules[name]


def test_a_generated_client_gets_a_typed_job(
    live: LiveServer, tenant: Tenant, generated: Any, sample_pdf: Path
) -> None:
    get_job = importlib.import_module("pagewire_generated.api.jobs.get_job")
    list_jobs = importlib.import_module("pagewire_generated.api.jobs.list_jobs")
    models = importlib.import_module("pagewire_generated.models")
    with live.api(tenant) as api:
        submitted = api.post(
            "/extract",
            files={"file": ("doc.pdf", sample_pdf.read_bytes(), "application/pdf")},
            data={"async": "true", "metadata": '{"ticket": "T-1"}'},
        )
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["job_id"]

    with generated.AuthenticatedClient(base_url=live.url, token=tenant.api_key) as client:
        job = get_job.sync(job_id, client=client)
        listed = list_jobs.sync(client=client)

    assert isinstance(job, models.JobOut)
    assert job.job_id == job_id and job.status == "pending"
    assert job.input_.file_name == "doc.pdf" and job.metadata["ticket"] == "T-1"
    assert isinstance(listed, models.JobList) and [j.job_id for j in listed.data] == [job_id]


def test_a_generated_client_parses_a_401_into_the_error_model(
    live: LiveServer, generated: Any
) -> None:
    get_job = importlib.import_module("pagewire_generated.api.jobs.get_job")
    models = importlib.import_module("pagewire_generated.models")
    with generated.AuthenticatedClient(base_url=live.url, token="pw_not_a_real_key") as client:
        answer = get_job.sync_detailed("job_anything", client=client)

    assert answer.status_code == 401
    assert isinstance(answer.parsed, models.ErrorResponse)
    assert answer.parsed.error.code == "invalid_api_key"
    assert answer.parsed.error.message


# -- /docs and /redoc offline ----------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def offline_page(chromium: Browser) -> Iterator[tuple[Page, list[str]]]:
    """A page that can reach loopback only; every other request is aborted and listed."""
    context = chromium.new_context()
    context.set_default_timeout(15_000)
    refused: list[str] = []

    def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_loopback)
    yield context.new_page(), refused
    context.close()


@pytest.mark.browser
def test_swagger_ui_renders_every_operation_offline(
    live: LiveServer, offline_page: tuple[Page, list[str]]
) -> None:
    from playwright.sync_api import expect

    page, refused = offline_page
    page.goto(f"{live.url}/docs")

    expect(page.locator("#operations-jobs-getJob")).to_be_visible()
    expect(page.locator("#operations-webhooks-createEndpoint")).to_be_visible()
    expect(page.locator(".opblock")).to_have_count(len(_documented_operations(live)))
    # "Authorize" offers both ways to send a key.
    page.locator("button.authorize").first.click()
    expect(page.locator(".auth-container")).to_have_count(2)
    assert refused == []


@pytest.mark.browser
def test_try_it_out_in_swagger_ui_sends_the_authorized_key(
    live: LiveServer, tenant: Tenant, offline_page: tuple[Page, list[str]]
) -> None:
    from playwright.sync_api import expect

    page, _ = offline_page
    page.goto(f"{live.url}/docs")
    page.locator("button.authorize").first.click()
    api_key = page.locator(".auth-container").filter(has_text="x-api-key")
    api_key.locator("input").fill(tenant.api_key)
    api_key.get_by_role("button", name="Apply credentials").click()
    api_key.locator("button.btn-done").click()

    operation = page.locator("#operations-jobs-listJobs")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()

    # The live response, from the server, authenticated: this organization's (empty) list.
    live_response = operation.locator(".live-responses-table .response")
    expect(live_response.locator(".response-col_status")).to_have_text("200")
    expect(live_response.locator(".response-col_description")).to_contain_text("next_cursor")


@pytest.mark.browser
def test_redoc_renders_the_operations_offline(
    live: LiveServer, offline_page: tuple[Page, list[str]]
) -> None:
    from playwright.sync_api import expect

    page, refused = offline_page
    page.goto(f"{live.url}/redoc")

    expect(page.get_by_role("heading", name="The job: status, progress, result")).to_be_visible()
    expect(page.get_by_text("ApiKey").first).to_be_attached()
    # Only ReDoc's "by Redocly" badge is fetched from outside; it removes itself when
    # that fails, so nothing shows broken.
    assert set(refused) <= {REDOC_BADGE}
    expect(page.locator(f'img[src="{REDOC_BADGE}"]')).to_have_count(0)


def _documented_operations(live: LiveServer) -> list[str]:
    spec = httpx.get(f"{live.url}/openapi.json").json()
    return [op["operationId"] for methods in spec["paths"].values() for op in methods.values()]
