"""`make image-test`: build the container image here and prove it reads a scan.

1. A Docker daemon: the one running, else `dockerd` from Debian's docker.io started in
   the background (no bridge, no iptables: containers use the host network only).
2. A base image: no registry is reachable here, so Debian bookworm made by `debootstrap`
   (python3 + venv, Debian's Python 3.11), imported as `pagewire-base:bookworm`; the root
   filesystem's tarball is cached in ~/.cache/pagewire-image between runs.
3. `scripts/image-build.sh` with that base, tagged `pagewire:test` (`--network host`, so
   apt inside the build reaches Debian's mirror for tesseract).
4. The image at work: `migrate` and `keys create` on a fresh volume, `serve` on the host
   network on a free port; a scanned PDF (no text layer) submitted through the API comes
   back OCR'd; the container runs as a non-root user and its HEALTHCHECK turns healthy.
5. compose.yaml's deployment, when PostgreSQL answers (PAGEWIRE_TEST_POSTGRES_URL, else
   postgres@127.0.0.1:5432): `migrate`, then `serve --no-worker --no-dispatch`, `worker`
   and `dispatch`, one container each, sharing only PostgreSQL and an S3 server (moto on
   loopback, standing in for MinIO): the scan is OCR'd on the worker, and the dispatcher's
   webhook arrives signed.

It leaves the image `pagewire:test` (and the daemon, if it started one) and removes its
containers, volume and database. Minutes, not part of `make test`; each phase's time is printed.
"""

from __future__ import annotations

import base64
import http.server
import io
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import standardwebhooks

ROOT = Path(__file__).resolve().parent.parent
TAG = "pagewire:test"
BASE = "pagewire-base:bookworm"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pagewire-image"
BASE_TARBALL = CACHE / "debian-bookworm-python3.tar"
MIRROR = "http://deb.debian.org/debian"
SOURCES = (
    f"deb {MIRROR} bookworm main\n"
    f"deb {MIRROR} bookworm-updates main\n"
    "deb http://deb.debian.org/debian-security bookworm-security main\n"
)
SIZE_LIMIT = 1.5e9
# What the first page of each scan says (tests/unit/extract/test_corpus.py reads the same)
SCAN = "scanned-no-text-layer-2p.pdf"
SCAN_TEXT = ("SUPREME COURT OF THE UNITED STATES", "Red River Compact")
SAMPLE_TEXT = ("UNITED STATES COURT OF APPEALS",)


def run(*args: str, capture: bool = False, **kwargs: object) -> str:
    done = subprocess.run(args, check=True, text=True, capture_output=capture, **kwargs)  # type: ignore[call-overload]
    return str(done.stdout or "")


def wait_for(what: str, ready: Callable[[], bool], seconds: float) -> None:
    """Poll ``ready`` until it holds; after ``seconds`` give up naming ``what``."""
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"image-test: gave up waiting for {what} after {seconds:.0f} s")
        time.sleep(0.5)


@contextmanager
def phase(name: str, times: dict[str, float]) -> Iterator[None]:
    print(f"== {name}", flush=True)
    start = time.monotonic()
    yield
    times[name] = time.monotonic() - start
    print(f"== {name}: {times[name]:.0f} s", flush=True)


def apt_install(*packages: str) -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit(f"image-test needs {', '.join(packages)}: apt-get install them as root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get", "install", "-y", "--no-install-recommends", *packages, env=env)


def docker_answers() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def ensure_dockerd() -> None:
    if shutil.which("docker") and docker_answers():
        return
    if not shutil.which("dockerd"):
        apt_install("docker.io")
    log = ROOT / "build" / "image-test" / "dockerd.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    daemon = subprocess.Popen(
        ["dockerd", "--bridge=none", "--iptables=false", "--ip6tables=false"],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # outlives this test: the image stays usable
    )
    print(f"started dockerd (pid {daemon.pid}, log {log})")

    def up() -> bool:
        if daemon.poll() is not None:
            raise SystemExit(f"dockerd exited with {daemon.returncode}: see {log}")
        return docker_answers()

    wait_for("dockerd to answer", up, 60)


def ensure_base() -> None:
    if subprocess.run(["docker", "image", "inspect", BASE], capture_output=True).returncode == 0:
        return
    if not BASE_TARBALL.exists():
        make_base_tarball()
    with BASE_TARBALL.open("rb") as tarball:
        run(
            "docker",
            "import",
            "--change",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--change",
            'CMD ["python3"]',
            "-",
            BASE,
            stdin=tarball,
        )


def make_base_tarball() -> None:
    """Debian bookworm, minimal, with python3 and venv: what the Dockerfile needs of a base."""
    if not shutil.which("debootstrap"):
        apt_install("debootstrap")
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
        rootfs = Path(scratch) / "rootfs"
        run(
            "debootstrap",
            "--variant=minbase",
            "--include=python3,python3-venv,ca-certificates",
            "bookworm",
            str(rootfs),
            MIRROR,
        )
        (rootfs / "etc/apt/sources.list").write_text(SOURCES)
        for deb in (rootfs / "var/cache/apt/archives").glob("*.deb"):
            deb.unlink()
        draft = BASE_TARBALL.with_suffix(".partial")
        run("tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(draft), ".")
        draft.rename(BASE_TARBALL)


def build() -> None:
    env = {
        **os.environ,
        "BASE_IMAGE": BASE,
        "IMAGE_TAG": TAG,
        "DOCKER_BUILD_ARGS": "--network host",
    }
    run(str(ROOT / "scripts" / "image-build.sh"), env=env)


def scanned_pdf() -> tuple[bytes, tuple[str, ...]]:
    """The corpus's real scan; in a clone without it, a page of the shipped sample
    rasterised into an image-only PDF (no text layer either)."""
    corpus = Path(os.environ.get("PAGEWIRE_TEST_CORPUS_DIR", ROOT.parent / "shared" / "corpus"))
    if (corpus / SCAN).exists():
        return (corpus / SCAN).read_bytes(), SCAN_TEXT
    import pypdfium2

    page = pypdfium2.PdfDocument(ROOT / "samples" / "ca1-appeal-17p.pdf")[0]
    image = page.render(scale=300 / 72).to_pil().convert("L")
    out = io.BytesIO()
    image.save(out, format="PDF", resolution=300)
    return out.getvalue(), SAMPLE_TEXT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def exercise(times: dict[str, float]) -> None:
    name = f"pagewire-image-test-{os.getpid()}"
    volume = ["--volume", f"{name}:/var/lib/pagewire"]
    port = free_port()
    try:
        with phase("migrate, key", times):
            run("docker", "run", "--rm", *volume, TAG, "migrate")
            key = json.loads(
                run(
                    "docker",
                    "run",
                    "--rm",
                    *volume,
                    TAG,
                    "keys",
                    "create",
                    "--org",
                    "image-test",
                    "--json",
                    capture=True,
                )
            )["api_key"]
        with phase("serve, OCR a scan", times):
            run(
                "docker",
                "run",
                "--detach",
                "--name",
                name,
                "--network",
                "host",
                *volume,
                "--env",
                f"PAGEWIRE_PORT={port}",
                # the OCR job below runs in the extractor's sandbox, or serve does not start
                "--env",
                "PAGEWIRE_EXTRACTOR_SANDBOX=required",
                "--health-interval",
                "2s",
                TAG,
                "serve",
            )
            check_job(f"http://127.0.0.1:{port}", key, name)
            logs = subprocess.run(
                ["docker", "logs", name], capture_output=True, text=True, check=True
            )
            said = [
                line
                for line in (logs.stdout + logs.stderr).splitlines()
                if "extractor sandbox: landlock" in line and "no sockets (seccomp)" in line
            ]
            assert said, "the worker did not say its extractor sandbox is in force"
            uid = run("docker", "exec", name, "id", "-u", capture=True).strip()
            assert uid != "0", "the container runs as root"
            # the volume (the data directory) belongs to that user and its group
            owner = run("docker", "exec", name, "stat", "-c", "%u:%g", ".", capture=True)
            assert owner.strip() == f"{uid}:{uid}", f"the data directory is owned by {owner}"
            wait_for("the HEALTHCHECK to report healthy", lambda: health(name) == "healthy", 60)
            print(f"runs as uid {uid}; health: {health(name)}")
    except BaseException:
        subprocess.run(["docker", "logs", "--tail", "50", name])
        raise
    finally:
        subprocess.run(["docker", "rm", "--force", "--volumes", name], capture_output=True)
        subprocess.run(["docker", "volume", "rm", name], capture_output=True)


def check_job(url: str, key: str, container: str) -> str:
    wait_for("serve to answer /healthz", lambda: answers(url, container), 60)
    pdf, expected = scanned_pdf()
    with httpx.Client(base_url=url, headers={"x-api-key": key}, timeout=30) as client:
        reply = client.post(
            "/extract", files={"file": ("scan.pdf", pdf, "application/pdf")}, data={"async": "true"}
        )
        assert reply.status_code == 202, reply.text
        job_id = reply.json()["job_id"]
        job: dict[str, object] = {}

        def finished() -> bool:
            job.update(client.get(f"/job/{job_id}").raise_for_status().json())
            return job["status"] not in ("pending", "processing")

        wait_for(f"job {job_id} to finish", finished, 600)
    assert job["status"] == "completed", job.get("error")
    result = job["result"]
    assert isinstance(result, dict)
    first = result["pages"][0]
    assert first["ocr"] is True, "page 1 was not OCR'd"
    for text in expected:
        assert text in result["markdown"], f"{text!r} not in the OCR text"
    print(f"job {job_id}: {result['page_count']} pages OCR'd, {len(result['markdown'])} characters")
    return str(job_id)


def exercise_cluster(times: dict[str, float]) -> None:
    """compose.yaml's deployment, one container per role on the host network: PostgreSQL
    (this machine's) and an S3 server (moto, on loopback) are all they share."""
    admin = os.environ.get(
        "PAGEWIRE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    if subprocess.run(["psql", admin, "-c", "select 1"], capture_output=True).returncode != 0:
        print(f"== cluster: skipped, no PostgreSQL at {admin} (PAGEWIRE_TEST_POSTGRES_URL)")
        return
    sys.path.insert(0, str(ROOT / "tests" / "blobs"))
    from s3_server import CLIENT_ENV, MotoServer

    name = f"pagewire_image_test_{os.getpid()}"
    run("psql", admin, "-qc", f'CREATE DATABASE "{name}"')
    scratch = tempfile.TemporaryDirectory()
    containers: list[str] = []
    try:
        with (
            phase("cluster: migrate, serve, worker, dispatch", times),
            MotoServer(Path(scratch.name)) as s3,
            WebhookReceiver() as hooks,
        ):
            s3.create_bucket("pagewire")
            env = {
                **CLIENT_ENV,
                "PAGEWIRE_DATABASE_URL": admin.rsplit("/", 1)[0] + f"/{name}",
                "PAGEWIRE_BLOB_URL": "s3://pagewire/blobs",
                "PAGEWIRE_S3_ENDPOINT_URL": s3.url,
                "PAGEWIRE_SECRET_KEY": secrets.token_urlsafe(48),
                "PAGEWIRE_ENCRYPTION_KEYS": "k1:" + base64.b64encode(os.urandom(32)).decode(),
                "PAGEWIRE_ALLOW_PRIVATE_URLS": "true",  # the receiver is on loopback
                "PAGEWIRE_PORT": str(free_port()),
            }
            options = [f"--env={k}={v}" for k, v in env.items()]
            options += ["--network=host", "--health-interval=2s"]
            run("docker", "run", "--rm", *options, TAG, "migrate")
            for role in ("serve --no-worker --no-dispatch", "worker", "dispatch"):
                container = f"{name}-{role.split()[0]}"
                metrics = [] if role.startswith("serve") else [f"--metrics-port={free_port()}"]
                run(
                    "docker",
                    "run",
                    "--detach",
                    "--name",
                    container,
                    *options,
                    TAG,
                    *role.split(),
                    *metrics,
                )
                containers.append(container)
            key = json.loads(
                run(
                    "docker",
                    "exec",
                    containers[0],
                    "pagewire",
                    "keys",
                    "create",
                    "--org",
                    "image-cluster",
                    "--json",
                    capture=True,
                )
            )["api_key"]
            url = f"http://127.0.0.1:{env['PAGEWIRE_PORT']}"
            wait_for("serve to answer", lambda: answers(url, containers[0]), 60)
            endpoint = httpx.post(
                f"{url}/webhook/endpoints",
                headers={"x-api-key": key},
                json={"url": hooks.url, "event_types": ["job.completed"]},
            )
            assert endpoint.status_code == 201, endpoint.text
            job_id = check_job(url, key, containers[0])
            wait_for("the dispatcher's webhook", lambda: bool(hooks.received), 60)
            headers, body = hooks.received[0]
            event = standardwebhooks.Webhook(endpoint.json()["secret"]).verify(body, headers)
            assert event["data"]["job_id"] == job_id
            for container in containers:
                wait_for(f"{container} healthy", lambda c=container: health(c) == "healthy", 60)
            print(f"webhook for {job_id} verified; {len(containers)} containers healthy")
    except BaseException:
        for container in containers:
            subprocess.run(["docker", "logs", "--tail", "30", container])
        raise
    finally:
        for container in containers:
            subprocess.run(["docker", "rm", "--force", "--volumes", container], capture_output=True)
        subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}"'])
        scratch.cleanup()


def answers(url: str, container: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz").status_code == 200
    except httpx.TransportError:
        state = run("docker", "inspect", "-f", "{{.State.Status}}", container, capture=True)
        if state.strip() != "running":
            raise SystemExit(f"{container} stopped before it answered") from None
        return False


class WebhookReceiver:
    """A receiver on loopback that records every delivery (headers, body) and says 204."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        received = self.received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                received.append((dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> WebhookReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def health(container: str) -> str:
    return run(
        "docker", "inspect", "-f", "{{.State.Health.Status}}", container, capture=True
    ).strip()


def main() -> int:
    times: dict[str, float] = {}
    start = time.monotonic()
    with phase("docker daemon", times):
        ensure_dockerd()
    with phase("base image", times):
        ensure_base()
    with phase("build", times):
        build()
    exercise(times)
    exercise_cluster(times)
    size = int(run("docker", "image", "inspect", "-f", "{{.Size}}", TAG, capture=True))
    subprocess.run(["docker", "image", "prune", "--force"], capture_output=True)
    total = time.monotonic() - start
    print(f"image {TAG}: {size / 1e6:.0f} MB")
    print(
        "times: " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items()) + f"; total {total:.0f} s"
    )
    if size > SIZE_LIMIT:
        raise SystemExit(f"image-test: {TAG} is {size / 1e9:.2f} GB, over {SIZE_LIMIT / 1e9} GB")
    print("image-test: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
