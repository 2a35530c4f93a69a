"""Signed portal tokens: the one-time link, the session cookie, CSRF tokens, notices.

Every token is ``base64url(JSON).base64url(HMAC-SHA256)`` under the settings'
signing key, and names its purpose, so a token made for one use (a notice, say)
is never accepted as another (a session). The signature only proves pagewire
made a token; whether a link is unused and a session still open is the
database's call (:mod:`pagewire.store.portal`), so both work across processes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request, Response

from pagewire.errors import Forbidden, Unauthenticated
from pagewire.models import PortalSession

SESSION_COOKIE = "pagewire_portal"
NOTICE_COOKIE = "pagewire_portal_notice"
CSRF_FIELD = "csrf_token"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the portal's signing key must have at least 16 bytes")
        self._key = key

    def _mac(self, purpose: str, body: str) -> bytes:
        return hmac.new(self._key, f"{purpose}.{body}".encode(), hashlib.sha256).digest()

    def sign(self, purpose: str, claims: dict[str, Any]) -> str:
        body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{_b64(self._mac(purpose, body))}"

    def unsign(self, purpose: str, token: str) -> dict[str, Any]:
        """The claims of a token this key made for ``purpose``; ``ValueError`` otherwise."""
        body, _, mac = token.partition(".")
        try:
            valid = hmac.compare_digest(_unb64(mac), self._mac(purpose, body))
            claims = json.loads(_unb64(body)) if valid else None
        except (binascii.Error, ValueError):
            raise ValueError("malformed token") from None
        if not isinstance(claims, dict):
            raise ValueError("bad signature")
        return claims

    def csrf_token(self, session_id: str) -> str:
        """Bound to the session: a token from another session (or none) is refused."""
        return _b64(self._mac("csrf", session_id))

    def check_csrf(self, session_id: str, presented: object) -> None:
        expected = self.csrf_token(session_id)
        if not isinstance(presented, str) or not hmac.compare_digest(presented, expected):
            raise Forbidden(
                "this form was missing its security token or it did not match your session; "
                "reload the page and try again",
                code="csrf_failed",
            )


@dataclass(frozen=True)
class LinkClaims:
    link_id: str
    org_id: str


def link_token(signer: Signer, link_id: str, org_id: str, expires_at: float) -> str:
    # The expiry rides along for people reading the link; the database decides.
    return signer.sign("link", {"l": link_id, "o": org_id, "e": int(expires_at)})


def read_link_token(signer: Signer, token: str | None) -> LinkClaims:
    if not token:
        raise Unauthenticated(
            "open the portal with the link your application created", code="portal_link_missing"
        )
    try:
        claims = signer.unsign("link", token)
        return LinkClaims(str(claims["l"]), str(claims["o"]))
    except (ValueError, KeyError):
        raise Unauthenticated(
            "this portal link is not valid (it may have been cut short or changed)",
            code="portal_link_invalid",
        ) from None


def check_same_site(request: Request, public_url: str) -> None:
    """Refuse a form another site made the browser post (login CSRF).

    A page elsewhere could post the attacker's own fresh link to ``/portal/start``
    and sign the victim into the attacker's organization. Browsers say where a form
    comes from: ``Sec-Fetch-Site`` and ``Origin``, which must be the public URL's.
    Clients that send neither (curl, scripts) are not browsers a page can drive.
    """
    if request.headers.get("sec-fetch-site", "").strip().lower() == "cross-site":
        raise Forbidden("this form was posted from another site; open your portal link directly")
    origin = request.headers.get("origin")
    if origin is not None and origin.strip().rstrip("/").lower() != origin_of(public_url):
        raise Forbidden(
            f"this form was posted from {origin!r}, not from pagewire's own address; "
            "open your portal link directly"
        )


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` as a browser's ``Origin`` header writes it."""
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(scheme)
    port = f":{parts.port}" if parts.port is not None and parts.port != default else ""
    return f"{scheme}://{host}{port}"


def _secure(request: Request, public_url: str) -> bool:
    return request.url.scheme == "https" or public_url.startswith("https://")


def set_session_cookie(
    response: Response,
    request: Request,
    signer: Signer,
    session: PortalSession,
    *,
    max_age: float,
    public_url: str,
) -> None:
    token = signer.sign("session", {"s": session.id, "o": session.org_id})
    response.set_cookie(
        SESSION_COOKIE,
        token,
        # A hint for the browser; the database decides when the session ends.
        max_age=max(1, int(max_age)),
        path=_cookie_path(request),
        httponly=True,
        samesite="lax",  # Strict would drop the cookie on the redirect after a link from elsewhere
        secure=_secure(request, public_url),
    )


def _cookie_path(request: Request) -> str:
    return request.scope.get("root_path") or "/"


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, path=_cookie_path(request), httponly=True)


@dataclass(frozen=True)
class SessionClaims:
    session_id: str
    org_id: str


def read_session_cookie(signer: Signer, request: Request) -> SessionClaims:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthenticated(
            "you are not signed in to the portal; open a new link from your application",
            code="portal_session_missing",
        )
    try:
        claims = signer.unsign("session", token)
        return SessionClaims(str(claims["s"]), str(claims["o"]))
    except (ValueError, KeyError):
        raise Unauthenticated(
            "your portal session is not valid; open a new link from your application",
            code="portal_session_invalid",
        ) from None


def set_notice(response: Response, request: Request, signer: Signer, text: str) -> None:
    """A one-line message shown once on the next page (post/redirect/get, no JavaScript)."""
    response.set_cookie(
        NOTICE_COOKIE,
        signer.sign("notice", {"t": text}),
        max_age=60,
        path=_cookie_path(request),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def read_notice(signer: Signer, request: Request) -> str | None:
    token = request.cookies.get(NOTICE_COOKIE)
    if not token:
        return None
    try:
        return str(signer.unsign("notice", token)["t"])
    except (ValueError, KeyError):
        return None


def clear_notice(response: Response, request: Request) -> None:
    response.delete_cookie(NOTICE_COOKIE, path=_cookie_path(request), httponly=True)
