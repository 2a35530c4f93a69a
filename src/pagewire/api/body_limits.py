"""How many bytes a request's body may have, decided from its headers alone.

A JSON body is at most ``PAGEWIRE_MAX_JSON_BYTES``; a multipart upload (every file
of a batch together) at most ``PAGEWIRE_MAX_UPLOAD_BYTES`` plus room for the form's
other fields; a portal form is a small URL-encoded form and nothing else. The HTTP
edge (:mod:`pagewire.api.edge_guard`) refuses a declared ``Content-Length`` over
the limit at once and counts a chunked body as it arrives.
"""

from __future__ import annotations

from dataclasses import dataclass

from pagewire.errors import PayloadTooLarge, UnsupportedMediaType
from pagewire.settings import Settings

# Room for a multipart request's fields beside its files: options, metadata (16 KB as
# JSON) and each part's headers.
FORM_FIELDS_ALLOWANCE = 64 * 1024
# A portal form: an endpoint's URL, description and up to 20 custom headers, URL-encoded.
PORTAL_FORM_BYTES = 64 * 1024
PORTAL_FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class BodyLimits:
    json_bytes: int
    multipart_bytes: int
    portal_form_bytes: int = PORTAL_FORM_BYTES

    @classmethod
    def from_settings(cls, settings: Settings) -> BodyLimits:
        return cls(
            json_bytes=settings.max_json_bytes,
            multipart_bytes=settings.max_upload_bytes + FORM_FIELDS_ALLOWANCE,
        )

    def limit(self, content_type: str, *, portal: bool) -> int:
        """The most bytes this body may have; ``UnsupportedMediaType`` for a portal
        request that is not a URL-encoded form (no portal page takes anything else)."""
        media_type = content_type.partition(";")[0].strip().lower()
        if portal:
            if media_type != PORTAL_FORM_TYPE:
                raise UnsupportedMediaType(
                    f"portal forms are sent as {PORTAL_FORM_TYPE}",
                    code="unsupported_content_type",
                )
            return self.portal_form_bytes
        if media_type == "multipart/form-data":
            return self.multipart_bytes
        return self.json_bytes


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the request body is larger than the limit of {limit} bytes",
        code="payload_too_large",
        details={"max_bytes": limit},
    )


class BodyCounter:
    """Counts the bytes of a body as they arrive, refusing the first chunk past ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0

    def add(self, chunk: bytes) -> None:
        self.count += len(chunk)
        if self.count > self.limit:
            raise too_large(self.limit)
