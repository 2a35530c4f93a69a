"""A real S3 server for tests and benchmarks: moto's standalone server, on loopback.

moto runs as its own process (``python -m moto.server``), so the code under test talks
to it over a socket exactly as it would to MinIO or AWS, and the server's work does not
share a GIL with the test. moto accepts any credentials and does not check request
signatures, so plain HTTP requests can create buckets and look inside them.

Import as ``from blobs.s3_server import MotoServer`` (tests) or with this folder on
``sys.path`` (``bench/blobs.py``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx

S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"

# What a client needs to reach moto: any credentials will do, and with them set no
# client goes looking for others (instance metadata is never asked).
CLIENT_ENV = {
    "AWS_ACCESS_KEY_ID": "pagewire-test",
    "AWS_SECRET_ACCESS_KEY": "pagewire-test-secret",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class MotoServer:
    """``with MotoServer(log_dir) as server:`` starts moto, and stops it on exit."""

    def __init__(self, log_dir: Path, *, start_timeout: float = 60.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log_path = log_dir / f"moto-{self.port}.log"
        self._start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MotoServer:
        log = self._log_path.open("wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        self._wait_until_serving()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)

    def _wait_until_serving(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self._start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"moto's server exited with {self._process.returncode}: "
                    f"{self._log_path.read_text(errors='replace')[-2000:]}"
                )
            try:
                httpx.get(f"{self.url}/moto-api/", timeout=1.0)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"moto's server did not answer on {self.url} in time")

    def create_bucket(self, name: str) -> None:
        httpx.put(f"{self.url}/{name}", timeout=10.0).raise_for_status()

    def object_keys(self, bucket: str) -> list[str]:
        """Every key in the bucket (one page: tests keep buckets small)."""
        response = httpx.get(f"{self.url}/{bucket}", params={"list-type": "2"}, timeout=10.0)
        response.raise_for_status()
        root = ET.fromstring(response.content)
        return [node.text or "" for node in root.iter(f"{S3_NS}Key")]

    def pending_uploads(self, bucket: str) -> list[str]:
        """Keys of multipart uploads begun and neither completed nor aborted."""
        response = httpx.get(f"{self.url}/{bucket}", params={"uploads": ""}, timeout=10.0)
        response.raise_for_status()
        root = ET.fromstring(response.content)
        return [
            key.text or ""
            for upload in root.iter(f"{S3_NS}Upload")
            for key in upload.iter(f"{S3_NS}Key")
        ]
