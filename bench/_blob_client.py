"""One object-store client's run for bench/blobs.py, in a process of its own.

    python bench/_blob_client.py obstore|aiobotocore ENDPOINT BUCKET SMALL LARGE

Imports nothing but the standard library and the client under test (so it runs in
the project's venv for obstore, and in ``bench/.peers-venv`` for aiobotocore), and
prints its figures as one JSON line. Credentials
come from the ``AWS_*`` variables the parent sets (moto accepts any).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

MiB = 1024 * 1024
PART = 8 * MiB
PARTS_IN_FLIGHT = 2


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def chunks_of(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    block = os.urandom(size)
    for _ in range(total // size):
        yield block


# -- the two clients, each behind the same five coroutines ----------------------------


class ObstoreClient:
    def __init__(self, endpoint: str, bucket: str) -> None:
        import obstore
        from obstore.store import S3Store

        self.obs = obstore
        self.store = S3Store(
            bucket,
            endpoint=endpoint,
            virtual_hosted_style_request=False,
            client_options={"allow_http": True},
        )

    async def put_bytes(self, key: str, data: bytes) -> None:
        await self.obs.put_async(self.store, key, data, use_multipart=False)

    async def put_stream(self, key: str, chunks: AsyncIterator[bytes]) -> None:
        await self.obs.put_async(
            self.store, key, chunks, chunk_size=PART, max_concurrency=PARTS_IN_FLIGHT
        )

    async def get_to_file(self, key: str, path: Path) -> None:
        result = await self.obs.get_async(self.store, key)
        with path.open("wb") as out:
            async for chunk in result.stream(min_chunk_size=MiB):
                await asyncio.to_thread(out.write, chunk)

    async def delete(self, key: str) -> None:
        await self.obs.delete_async(self.store, key)

    async def close(self) -> None:
        pass


class AiobotocoreClient:
    def __init__(self, endpoint: str, bucket: str) -> None:
        from aiobotocore.session import get_session

        self.bucket = bucket
        self.endpoint = endpoint
        self.session = get_session()
        self.client: Any = None

    async def open(self) -> None:
        self._context = self.session.create_client("s3", endpoint_url=self.endpoint)
        self.client = await self._context.__aenter__()

    async def put_bytes(self, key: str, data: bytes) -> None:
        await self.client.put_object(Bucket=self.bucket, Key=key, Body=data)

    async def put_stream(self, key: str, chunks: AsyncIterator[bytes]) -> None:
        upload = await self.client.create_multipart_upload(Bucket=self.bucket, Key=key)
        upload_id = upload["UploadId"]
        parts: list[dict[str, Any]] = []
        in_flight: set[asyncio.Task[None]] = set()
        numbers = itertools.count(1)

        async def send(number: int, body: bytes) -> None:
            answer = await self.client.upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
            )
            parts.append({"PartNumber": number, "ETag": answer["ETag"]})

        async def flush(buffer: bytearray) -> None:
            while len(in_flight) >= PARTS_IN_FLIGHT:
                done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                in_flight.difference_update(done)
                for task in done:
                    task.result()
            in_flight.add(asyncio.create_task(send(next(numbers), bytes(buffer))))

        try:
            buffer = bytearray()
            async for chunk in chunks:
                buffer += chunk
                if len(buffer) >= PART:
                    await flush(buffer)
                    buffer.clear()
            if buffer:
                await flush(buffer)
            await asyncio.gather(*in_flight)
            parts.sort(key=lambda part: part["PartNumber"])
            await self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            await self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id
            )
            raise

    async def get_to_file(self, key: str, path: Path) -> None:
        answer = await self.client.get_object(Bucket=self.bucket, Key=key)
        async with answer["Body"] as body:
            with path.open("wb") as out:
                async for chunk in body.iter_chunks(MiB):
                    await asyncio.to_thread(out.write, chunk)

    async def delete(self, key: str) -> None:
        await self.client.delete_object(Bucket=self.bucket, Key=key)

    async def close(self) -> None:
        await self._context.__aexit__(None, None, None)


# -- one client's run, in its own process ----------------------------------------------


async def timed(operation: Callable[[], Any]) -> float:
    started = time.perf_counter()
    await operation()
    return time.perf_counter() - started


async def run_client(
    name: str, endpoint: str, bucket: str, small: int, large: int
) -> dict[str, Any]:
    baseline = rss_mib()
    started = time.perf_counter()
    client: ObstoreClient | AiobotocoreClient
    if name == "obstore":
        client = ObstoreClient(endpoint, bucket)
    else:
        client = AiobotocoreClient(endpoint, bucket)
        await client.open()
    import_ms = (time.perf_counter() - started) * 1000
    rss_client = rss_mib() - baseline

    one_mib = os.urandom(MiB)
    await client.put_bytes("warmup", one_mib)
    puts = [await timed(lambda i=i: client.put_bytes(f"small/{i}", one_mib)) for i in range(small)]
    deletes = [await timed(lambda i=i: client.delete(f"small/{i}")) for i in range(small)]
    big_puts: list[float] = []
    gets: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "object"
        for i in range(large):
            key = f"large/{i}"
            big_puts.append(
                await timed(lambda key=key: client.put_stream(key, chunks_of(64 * MiB)))
            )
            gets.append(await timed(lambda key=key: client.get_to_file(key, target)))
            if target.stat().st_size != 64 * MiB:
                raise RuntimeError(f"{name}: got {target.stat().st_size} bytes back, not 64 MiB")
            await client.delete(key)
    await client.delete("warmup")
    await client.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "import_ms": import_ms,
        "rss_client_mib": rss_client,
        "rss_peak_mib": usage.ru_maxrss / 1024 - baseline,
        "put_1mib_ms": statistics.median(puts) * 1000,
        "put_64mib_s": statistics.median(big_puts),
        "get_64mib_s": statistics.median(gets),
        "delete_ms": statistics.median(deletes) * 1000,
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }


if __name__ == "__main__":
    name, endpoint, bucket, small, large = sys.argv[1:6]
    print(json.dumps(asyncio.run(run_client(name, endpoint, bucket, int(small), int(large)))))
