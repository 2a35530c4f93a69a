"""The pagewire Python SDK: ``Pagewire`` and ``AsyncPagewire``, typed results, errors.

Needs only httpx (and the standard library): no server package is imported.
The same names are re-exported from ``pagewire`` itself. ``Pagewire`` is
generated from ``AsyncPagewire`` (see ``pagewire.client._async``).
"""

from pagewire.client._async.client import AsyncPagewire
from pagewire.client._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PagewireAPIError,
    PermissionDeniedError,
    RateLimitError,
    WaitTimeoutError,
    WebhookVerificationError,
)
from pagewire.client._models import (
    Job,
    JobAudit,
    JobError,
    JobInput,
    JobResult,
    JobStatus,
    JobSubmission,
    ListPage,
    Progress,
    ResultLink,
    WebhookEvent,
    WebhookLink,
)
from pagewire.client._pages import BBox, Block, Chunk, ChunkBox, Page, Table
from pagewire.client._retry import Backoff, RetryPolicy
from pagewire.client._sync.client import Pagewire
from pagewire.client._verify import verify_webhook
from pagewire.client._webhook_models import Attempt, Delivery, Endpoint, EventType, Message

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncPagewire",
    "Attempt",
    "AuthenticationError",
    "BBox",
    "Backoff",
    "BadRequestError",
    "Block",
    "Chunk",
    "ChunkBox",
    "ConflictError",
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
    "NotFoundError",
    "Page",
    "Pagewire",
    "PagewireAPIError",
    "PermissionDeniedError",
    "Progress",
    "RateLimitError",
    "ResultLink",
    "RetryPolicy",
    "Table",
    "WaitTimeoutError",
    "WebhookEvent",
    "WebhookLink",
    "WebhookVerificationError",
    "verify_webhook",
]
