"""The ``file_url`` downloader: stream a document to disk through the SSRF guard.

The session is the caller's, built on :func:`pagewire.netguard.guarded_connector`,
which refuses non-public addresses at connect time. Redirects are followed here,
one hop at a time, so every hop's URL is validated before anything connects.
Every failure is a :class:`~pagewire.errors.FetchFailed` whose code becomes the
job's error code; a failed connection is told in words
(:func:`pagewire.kernel.net_errors.describe_network_error`), with the library's own
text in ``details["detail"]``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import pathlib
import posixpath
import tempfile
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

import aiohttp

from pagewire.errors import FetchFailed, UnsafeURL
from pagewire.extract import SUPPORTED_MEDIA_TYPES, sniff_media_type
from pagewire.kernel.net_errors import describe_network_error
from pagewire.models import Lease
from pagewire.security.netguard import Networks, refused_address, validate_url
from pagewire.store.leases import LeaseStore

__all__ = ["Downloaded", "download", "job_error", "record_download"]

_CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_FILE_NAME = 255


@dataclass(frozen=True)
class Downloaded:
    path: pathlib.Path
    size: int
    sha256: str
    content_type: str | None
    file_name: str | None


def _clean_file_name(name: str | None) -> str | None:
    if not name:
        return None
    # A server-chosen name is only a label: never a path, never control characters.
    name = posixpath.basename(name.replace("\\", "/"))
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if name in ("", ".", ".."):
        return None
    return name[:_MAX_FILE_NAME]


def _file_name(response: aiohttp.ClientResponse, url: str) -> str | None:
    disposition = response.content_disposition
    from_header = _clean_file_name(disposition.filename if disposition else None)
    if from_header:
        return from_header
    return _clean_file_name(unquote(urlsplit(url).path))


def _fail(code: str, message: str, url: str, **details: object) -> FetchFailed:
    return FetchFailed(message, code=code, details={"url": url, **details})


async def download(
    session: aiohttp.ClientSession,
    url: str,
    dest: pathlib.Path,
    *,
    max_bytes: int,
    timeout: float,
    allow_private: bool,
    max_redirects: int = 5,
    allowed_networks: Networks = (),
) -> Downloaded:
    """Download ``url`` to ``dest`` and return what arrived.

    ``timeout`` bounds the whole download, redirects included, so a server that
    trickles bytes cannot hold a worker forever. ``dest`` appears only when the
    download succeeded; a partial file never does.
    """
    current = url
    try:
        async with asyncio.timeout(timeout):
            for _hop in range(max_redirects + 1):
                try:
                    validate_url(
                        current, allow_private=allow_private, allowed_networks=allowed_networks
                    )
                except UnsafeURL as exc:
                    raise _fail("file_url_not_allowed", exc.message, current) from exc
                async with session.get(
                    current, allow_redirects=False, headers={"Accept": "*/*"}
                ) as response:
                    if response.status in _REDIRECTS and "Location" in response.headers:
                        current = urljoin(current, response.headers["Location"])
                        continue
                    _check_status(response, current)
                    return await _save(response, current, dest, max_bytes)
            raise _fail(
                "file_url_too_many_redirects",
                f"more than {max_redirects} redirects",
                url,
                max_redirects=max_redirects,
            )
    except FetchFailed:
        raise
    except TimeoutError as exc:  # asyncio's deadline and aiohttp's own timeouts alike
        raise _fail(
            "file_url_timeout", f"no complete answer within {timeout:g} s", current
        ) from exc
    except aiohttp.ClientError as exc:
        refusal = refused_address(exc)
        if refusal is not None:
            raise _fail(
                "file_url_not_allowed",
                f"{refusal.host} is not a public address",
                current,
                address=refusal.address,
            ) from exc
        if isinstance(exc, aiohttp.InvalidURL):
            raise _fail(
                "file_url_not_allowed", "the URL is not valid", current, detail=str(exc)
            ) from exc
        failure = describe_network_error(exc)
        raise _fail(
            "file_url_unreachable",
            f"could not download: {failure.message}",
            current,
            detail=failure.detail,
        ) from exc


def _check_status(response: aiohttp.ClientResponse, url: str) -> None:
    status = response.status
    if 200 <= status < 300:
        return
    if status in (404, 410):
        raise _fail("file_url_not_found", f"the server answered {status}", url, status=status)
    raise _fail("file_url_http_error", f"the server answered {status}", url, status=status)


async def _save(
    response: aiohttp.ClientResponse, url: str, dest: pathlib.Path, max_bytes: int
) -> Downloaded:
    if response.content_length is not None and response.content_length > max_bytes:
        raise _too_large(url, max_bytes)
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(prefix=".download-", dir=dest.parent)
    tmp = pathlib.Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            # Small synchronous writes to local disk: cheaper than a thread hop per chunk.
            async for chunk in response.content.iter_chunked(_CHUNK):
                size += len(chunk)
                if size > max_bytes:  # the length header can lie, or be absent
                    raise _too_large(url, max_bytes)
                digest.update(chunk)
                out.write(chunk)
        tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    has_type = "Content-Type" in response.headers
    return Downloaded(
        path=dest,
        size=size,
        sha256=digest.hexdigest(),
        content_type=response.content_type if has_type else None,
        file_name=_file_name(response, url),
    )


def _too_large(url: str, max_bytes: int) -> FetchFailed:
    return _fail(
        "file_url_too_large", f"the file is over {max_bytes} bytes", url, max_bytes=max_bytes
    )


def job_error(error: FetchFailed) -> dict[str, str]:
    """A failed download as the job's ``error``: code, message in words, and the detail."""
    recorded = {"code": error.code, "message": error.message}
    detail = error.details.get("detail")
    if isinstance(detail, str):
        recorded["detail"] = detail
    return recorded


async def record_download(
    leases: LeaseStore, lease: Lease, downloaded: Downloaded, media_type: str | None
) -> bool:
    """What arrived, on the job as an upload's is at submit: its digest, its size and
    the type pagewire reads it as (or, for a type it does not read, the server's)."""
    return await leases.record_input(
        lease,
        sha256=downloaded.sha256,
        size=downloaded.size,
        media_type=media_type or downloaded.content_type,
    )


def sniffed_type(path: pathlib.Path) -> str | None:
    """What the downloaded file is, by its first bytes (never the server's word)."""
    with path.open("rb") as f:
        return sniff_media_type(f.read(8192))


def supported(media_type: str | None) -> str:
    """``media_type``, or the job's error when pagewire cannot read such a file."""
    if media_type is None:
        raise FetchFailed(
            f"the file at file_url is not a supported type; supported: "
            f"{', '.join(SUPPORTED_MEDIA_TYPES)}",
            code="unsupported_media_type",
        )
    return media_type
