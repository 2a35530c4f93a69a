"""Secrets at rest: the cipher that seals endpoint secrets, custom header values and
replayable responses before they reach the database, and the keys it uses.

Cipher: AES-256-GCM (``cryptography``), authenticated, with a random 96-bit nonce
per value. A sealed value is text, ``pw1:<key id>:<base64url(nonce, ciphertext,
tag)>``: the key id says which key opens it without trying each one (so a wrong
key is reported, never turned into garbage, and ``pagewire encryption rotate``
can tell what is left to move), and every value is bound to where it belongs
(its *context*, e.g. ``endpoint-secret:ep_...``) as associated data, so a value
copied into another row or column does not open. Fernet was not chosen: no
associated data, no key id (MultiFernet tries every key in turn), and longer tokens.

Keys: ``PAGEWIRE_ENCRYPTION_KEYS``, one or more ``id:base64-of-32-bytes`` separated
by commas; the first seals, every one opens. Without it, the embedded default
(SQLite) keeps its own in ``DATA_DIR/encryption_keys`` (created 0600 on first
start); PostgreSQL, which several processes share, requires the setting.

This module imports ``cryptography`` only when a key is loaded, so the CLI can
name :class:`EncryptionKeyError` without paying for it.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pagewire.settings import Settings

PREFIX = "pw1"
KEY_FILE = "encryption_keys"
SETTING = "PAGEWIRE_ENCRYPTION_KEYS"
KEY_BYTES = 32
NONCE_BYTES = 12
_KEY_ID = re.compile(r"^[A-Za-z0-9-]{1,16}$")
# Opened values kept in memory (the dispatcher opens the same few endpoints' values
# on every claim); bounded, and never logged.
CACHE_SIZE = 4096


class EncryptionKeyError(Exception):
    """The encryption keys are missing, malformed or not the database's: a start-up
    error naming what to fix. Raised too when a stored value does not open."""


@dataclass(frozen=True)
class EncryptionKey:
    id: str
    key: bytes = field(repr=False)


def new_key_entry() -> str:
    """A fresh ``id:base64`` entry for ``PAGEWIRE_ENCRYPTION_KEYS``."""
    return f"{secrets.token_hex(4)}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def parse_keys(text: str, *, source: str) -> tuple[EncryptionKey, ...]:
    """Keys from ``id:base64`` entries separated by commas or new lines. Errors name the
    entry by position and ``source``, never its value."""
    entries = [e.strip() for e in re.split(r"[,\s]+", text) if e.strip()]
    if not entries:
        raise EncryptionKeyError(f"{source} holds no key")
    keys: list[EncryptionKey] = []
    for number, entry in enumerate(entries, 1):
        key_id, sep, encoded = entry.partition(":")
        where = f"{source}: key {number}"
        if not sep or not _KEY_ID.match(key_id):
            raise EncryptionKeyError(
                f"{where} is not 'id:base64' with an id of 1 to 16 letters, digits or "
                "dashes (make one with `pagewire encryption new-key`)"
            )
        try:
            raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4), altchars=b"-_")
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != KEY_BYTES:
            raise EncryptionKeyError(f"{where} ({key_id!r}) is not base64 of {KEY_BYTES} bytes")
        if any(k.id == key_id for k in keys):
            raise EncryptionKeyError(f"{source}: key id {key_id!r} appears twice")
        keys.append(EncryptionKey(key_id, raw))
    return tuple(keys)


def settings_keys(
    settings: Settings, *, create: bool, embedded: bool
) -> tuple[tuple[EncryptionKey, ...], str]:
    """The configured keys and where they came from (for error messages).

    ``create``: on SQLite without the setting, make ``DATA_DIR/encryption_keys`` if it
    is missing (a fresh data directory); otherwise its absence is an error.
    """
    configured = settings.encryption_keys.get_secret_value().strip()
    if configured:
        return parse_keys(configured, source=SETTING), SETTING
    if not embedded:
        raise EncryptionKeyError(
            f"{SETTING} is not set: with PostgreSQL every pagewire process must share the "
            "keys that encrypt webhook secrets at rest; make one with "
            f"`pagewire encryption new-key` and give the same {SETTING} to every process"
        )
    path = settings.data_dir / KEY_FILE
    if not path.exists() and not create:
        raise EncryptionKeyError(
            f"no encryption key: {path} is missing and {SETTING} is not set. Restore the "
            f"file (or set {SETTING} to its keys); a new key cannot open what the old one sealed"
        )
    return parse_keys(_stored_keys(path), source=str(path)), str(path)


def _stored_keys(path: Path) -> str:
    """Read the key file, or create it (0600); a process that loses the race reads the winner's."""
    try:
        return path.read_text()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(new_key_entry() + "\n")
        os.link(draft, path)  # never replaces: the first complete file wins
    except FileExistsError:
        pass
    finally:
        draft.unlink(missing_ok=True)
    return path.read_text()


class SecretBox:
    """Seals and opens values under the keys ``loader(create)`` returns, loaded once
    (on :meth:`load`, or the first use, which may create the embedded key file)."""

    def __init__(self, loader: Callable[[bool], tuple[Sequence[EncryptionKey], str]]) -> None:
        self._loader = loader
        self._ciphers: dict[str, Any] = {}
        self._primary = ""
        self.source = SETTING
        self._opened: dict[tuple[str, str], str] = {}

    @classmethod
    def of(cls, keys: Sequence[EncryptionKey], source: str = SETTING) -> SecretBox:
        return cls(lambda _create: (keys, source))

    @classmethod
    def from_settings(cls, settings: Settings, *, embedded: bool) -> SecretBox:
        """``embedded``: the database is SQLite in the data directory, where a key
        may be generated; a server database needs the setting."""
        return cls(lambda create: settings_keys(settings, create=create, embedded=embedded))

    def load(self, *, create: bool = True) -> None:
        if self._primary:
            return
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        keys, self.source = self._loader(create)
        if not keys:
            raise EncryptionKeyError(f"{self.source} holds no key")
        self._ciphers = {k.id: AESGCM(k.key) for k in keys}
        self._primary = keys[0].id

    @property
    def primary_id(self) -> str:
        self.load()
        return self._primary

    @property
    def key_ids(self) -> tuple[str, ...]:
        self.load()
        return tuple(self._ciphers)

    def seal(self, plaintext: str, context: str) -> str:
        """``plaintext`` sealed under the first key, bound to ``context``."""
        self.load()
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._primary].encrypt(nonce, plaintext.encode(), context.encode())
        data = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{PREFIX}:{self._primary}:{data}"

    def open(self, value: str, context: str) -> str:
        """The plaintext of a sealed value. A value without the prefix was stored before
        encryption at rest (sealed at the next start) and is returned as it is."""
        if not value.startswith(PREFIX + ":"):
            return value
        cached = self._opened.get((value, context))
        if cached is not None:
            return cached
        self.load()
        _, key_id, data = value.split(":", 2)
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise EncryptionKeyError(
                f"a stored value ({context.split(':')[0]}) is sealed with key {key_id!r}, "
                f"which {self.source} does not list: add that key back"
            )
        from cryptography.exceptions import InvalidTag

        raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
        try:
            plaintext = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
        except InvalidTag:
            raise EncryptionKeyError(
                f"a stored value ({context.split(':')[0]}) does not open with key {key_id!r} "
                f"of {self.source}: the key is wrong, or the value was altered"
            ) from None
        opened: str = plaintext.decode()
        if len(self._opened) >= CACHE_SIZE:
            self._opened.clear()
        self._opened[(value, context)] = opened
        return opened

    def open_optional(self, value: str | None, context: str) -> str | None:
        return None if value is None else self.open(value, context)

    def needs_sealing(self, value: str, *, rotate: bool) -> bool:
        """Plaintext (from before encryption at rest), or, when ``rotate``, sealed with
        any key but the first."""
        if not value.startswith(PREFIX + ":"):
            return True
        return rotate and value.split(":", 2)[1] != self.primary_id


def sealed_key_id(value: str) -> str | None:
    """The key id of a sealed value (None: plaintext)."""
    if not value.startswith(PREFIX + ":"):
        return None
    return value.split(":", 2)[1]


# What each sealed value is bound to (its associated data).
def secret_context(endpoint_id: str) -> str:
    """The current and the previous secret share one: rotation moves one into the other."""
    return f"endpoint-secret:{endpoint_id}"


def header_context(endpoint_id: str, name: str) -> str:
    return f"endpoint-header:{endpoint_id}:{name.lower()}"


def response_context(org_id: str, key: str) -> str:
    return f"idempotent-response:{org_id}:{key}"


__all__ = [
    "KEY_FILE",
    "SETTING",
    "EncryptionKey",
    "EncryptionKeyError",
    "SecretBox",
    "header_context",
    "new_key_entry",
    "parse_keys",
    "response_context",
    "sealed_key_id",
    "secret_context",
    "settings_keys",
]
