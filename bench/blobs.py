"""Object-store client figures: aiobotocore and obstore, side by side, against one S3 server.

    .venv/bin/python bench/blobs.py [--small N] [--large N]

Both candidates for ``PAGEWIRE_BLOB_URL=s3://...`` are driven the way the blob store
drives its client, against moto's standalone S3 server on loopback (started here, in
its own process; the server is the same for both, so differences are the clients'):

* **import** (ms): importing the client and building one S3 client, in a fresh process
  (what every ``pagewire`` process pays at start). **RSS** (MiB): the process's resident
  memory growth for that import and client, and its peak after the whole run (the
  64 MiB transfers included: neither may hold a whole object in memory).
* **put 1 MiB** (ms, median of ``--small``): one object from one buffer, a single PUT.
* **put 64 MiB** (s, median of ``--large``): a multipart upload fed by an async
  iterator of 64 KiB chunks (as an HTTP upload arrives), 8 MiB parts, two in flight.
* **get to file 64 MiB** (s): the object streamed to a local file in 1 MiB writes.
* **delete** (ms, median of ``--small``).
* **client CPU** (s): user+system time of the client's process for the whole run; moto
  answers slowly, so wall times are mostly the server's, and CPU is what the client costs.

Each client runs in its own subprocess (bench/_blob_client.py: so import cost and RSS
are its own), one after the other, each against a fresh bucket. obstore, the one the
project depends on (docs/scaling.md says why), runs from the project's venv;
aiobotocore from ``bench/.peers-venv`` (built here with uv; never a project dependency).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# bench/ holds a queue.py, which would shadow the standard library's (asyncio needs it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "tests" / "blobs"))

from s3_server import CLIENT_ENV, MotoServer  # noqa: E402

CLIENT_SCRIPT = ROOT / "bench" / "_blob_client.py"
# Packages we compare against and never depend on (bench/queue.py's procrastinate too).
PEERS_VENV = ROOT / "bench" / ".peers-venv"
CLIENTS = ("obstore", "aiobotocore")


def client_python(name: str) -> str:
    """obstore runs from the project's venv; aiobotocore from the peers' venv, built here
    with uv on the same interpreter, bytecode compiled at install as `make install`
    does (a first import must not pay for compiling botocore)."""
    if name == "obstore":
        return sys.executable
    uv = str(ROOT / ".venv" / "bin" / "uv")
    python = PEERS_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(PEERS_VENV)], check=True)
    subprocess.run(
        [uv, "pip", "install", "-q", "--compile-bytecode", "--python", str(python), "aiobotocore"],
        check=True,
        timeout=300,
    )
    return str(python)


def measure(name: str, python: str, server: MotoServer, small: int, large: int) -> dict[str, Any]:
    bucket = f"bench-{name}"
    server.create_bucket(bucket)
    # -P: bench/ must not be on the child's path (its queue.py shadows the stdlib's).
    answer = subprocess.run(
        [python, "-P", str(CLIENT_SCRIPT), name, server.url, bucket, str(small), str(large)],
        env={**os.environ, **CLIENT_ENV},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if answer.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{answer.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(answer.stdout.strip().splitlines()[-1])
    return result


def version(name: str, python: str) -> str:
    script = f"import importlib.metadata as m; print(m.version({name!r}))"
    answer = subprocess.run([python, "-c", script], capture_output=True, text=True, check=True)
    return answer.stdout.strip()


ROWS = (
    ("import + client", "import_ms", "{:.0f} ms"),
    ("RSS of import + client", "rss_client_mib", "{:.1f} MiB"),
    ("RSS peak growth", "rss_peak_mib", "{:.1f} MiB"),
    ("put 1 MiB (median)", "put_1mib_ms", "{:.1f} ms"),
    ("put 64 MiB multipart", "put_64mib_s", "{:.2f} s"),
    ("get 64 MiB to file", "get_64mib_s", "{:.2f} s"),
    ("delete (median)", "delete_ms", "{:.1f} ms"),
    ("client CPU, whole run", "cpu_s", "{:.2f} s"),
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=20, help="rounds of 1 MiB put and delete")
    parser.add_argument("--large", type=int, default=3, help="rounds of 64 MiB put and get")
    args = parser.parse_args()

    pythons = {name: client_python(name) for name in CLIENTS}
    installed = {name: version(name, pythons[name]) for name in CLIENTS}
    with tempfile.TemporaryDirectory() as logs, MotoServer(Path(logs)) as server:
        results = {
            name: measure(name, pythons[name], server, args.small, args.large) for name in CLIENTS
        }
    print(f"object-store clients against moto on loopback ({os.cpu_count()} cores)")
    header = "".join(f"{name + ' ' + installed[name]:>22}" for name in CLIENTS)
    print(f"{'':28}{header}")
    for label, field, form in ROWS:
        cells = "".join(f"{form.format(results[name][field]):>22}" for name in CLIENTS)
        print(f"{label:28}{cells}")


if __name__ == "__main__":
    main()
