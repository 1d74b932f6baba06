"""Personal data at rest: numbers and names sealed with AES-GCM, and a blind index to find a person by number.

Why both: AES-GCM with a fresh nonce per value gives a different ciphertext
each time, so the store cannot compare two sealed numbers. Every lookup
(a lead's duplicate, a DNC match, a person's history) therefore goes
through ``phone_key``: an HMAC-SHA256 of the E.164 number under the
store's salt, then, in a sealed store, an HMAC of that under a secret key:
equal for equal numbers, and useless without that key.

The key is 32 random bytes, given base64-encoded in ``DIALER_STORE_KEY``, in
a file named by ``DIALER_STORE_KEY_FILE``, or in the daemon's ``[store]
key_file``. Two subkeys are derived from it (HKDF-SHA256): one seals, one
indexes, so the index never reveals the sealing key. A store without a key
keeps the inner index alone, under the random salt of its ``store_seal``
row: an erased person's DNC entry is a hash, not the number, in both kinds
of store (but with the salt beside it, a clear store's hash is only
pseudonymous). Why two layers: sealing a clear store re-keys every index
from the old one, so an erased person's DNC entry, whose number is gone,
still matches the number if it is imported again.

``Sealed`` columns seal on the way in and open on the way out, with the
engine's ``Sealer`` (``attach``): code above the store reads and writes
clear values. Each column's name is the AES-GCM associated data, so a
sealed name copied into the number column does not open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from dialer.errors import DialerError

__all__ = ["SealError", "Sealer", "Sealed", "SealMode", "attach", "sealer_of", "new_key", "read_key", "key_default",
           "KEY_ENV", "KEY_FILE_ENV", "ERASED", "person_key"]

KEY_ENV = "DIALER_STORE_KEY"
KEY_FILE_ENV = "DIALER_STORE_KEY_FILE"
ERASED = ""
"""What an erased number or name reads as: the value is gone, only the blind index stays."""

_PREFIX = "s1."  # a sealed value: version 1 (AES-256-GCM, 96-bit nonce), then base64url(nonce + ciphertext + tag)
_INDEX_BYTES = 16  # 128 bits of HMAC: no two of the world's numbers collide by chance
_CHECK = b"dialer store key check"


class SealError(DialerError):
    """The store key is missing, malformed or not this store's, or a sealed value does not open: one line,
    exit 2, naming where the key came from (never the key)."""


class SealMode(StrEnum):
    """How a store keeps personal data: the ``store_seal.mode`` values."""

    CLEAR = "clear"
    AES_GCM = "aes-256-gcm"


def new_key() -> str:
    """A fresh store key, base64: what ``dialer privacy key`` prints for the operator to keep."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _decoded(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError:
        raise SealError(f"{where}: the store key is not base64 (make one with: dialer privacy key)") from None
    if len(key) != 32:
        raise SealError(f"{where}: the store key holds {len(key)} bytes, not 32 (make one with: dialer privacy key)")
    return key


def read_key(key_file: str | None = None) -> bytes | None:
    """The store key: ``key_file`` (the daemon's config), else ``DIALER_STORE_KEY_FILE``, else
    ``DIALER_STORE_KEY``; None when none is set (a clear store)."""
    path = key_file or os.environ.get(KEY_FILE_ENV)
    if path:
        try:
            return _decoded(Path(path).read_text(encoding="ascii"), path)
        except OSError as exc:
            raise SealError(f"{path}: cannot read the store key: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise SealError(f"{path}: the store key is not base64 (make one with: dialer privacy key)") from None
    text = os.environ.get(KEY_ENV)
    return _decoded(text, KEY_ENV) if text else None


def _index(key: bytes, text: str) -> str:
    """base64url of the first 128 bits of HMAC-SHA256(key, text)."""
    digest = hmac.new(key, text.encode(), hashlib.sha256).digest()[:_INDEX_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


@dataclass(frozen=True)
class Sealer:
    """How one store holds personal data: ``salt`` keys the inner index; a sealed store (``sealing``) adds the
    secret ``index_key`` over it and the AES-GCM ``aead`` for values; a clear store has neither."""

    salt: bytes
    index_key: bytes | None = None
    aead: AESGCM | None = None

    @classmethod
    def sealing(cls, salt: bytes, master: bytes) -> Sealer:
        return cls(salt, _derive(master, b"dialer index"), AESGCM(_derive(master, b"dialer seal")))

    def key_of(self, e164: str) -> str:
        """The person's blind index: the inner index of the number, re-keyed when the store is sealed."""
        inner = _index(self.salt, e164)
        return inner if self.index_key is None else _index(self.index_key, inner)

    def rekeyed(self, inner: str) -> str:
        """A clear store's index as this sealed store keeps it: how sealing re-keys an erased person's entry."""
        assert self.index_key is not None
        return _index(self.index_key, inner)

    def seal(self, text: str, column: str) -> str:
        if self.aead is None or text == ERASED:
            return text
        nonce = secrets.token_bytes(12)
        sealed = self.aead.encrypt(nonce, text.encode(), column.encode())
        return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, stored: str, column: str) -> str:
        if not stored.startswith(_PREFIX):
            if self.aead is not None and stored != ERASED:
                raise SealError(f"{column}: a clear value in an encrypted store")
            return stored
        if self.aead is None:
            raise SealError(f"{column} is encrypted: set {KEY_ENV} or {KEY_FILE_ENV}")
        raw = base64.urlsafe_b64decode(stored[len(_PREFIX):])
        try:
            return self.aead.decrypt(raw[:12], raw[12:], column.encode()).decode()
        except InvalidTag:
            raise SealError(f"{column}: a sealed value does not open with this key") from None

    def check(self) -> str:
        """What the store keeps to tell the right key from a wrong one (an HMAC of a constant, not the key)."""
        assert self.index_key is not None
        return hmac.new(self.index_key, _CHECK, hashlib.sha256).hexdigest()[:32]


_UNATTACHED = "dialer_sealer"


def attach(dialect: Dialect, sealer: Sealer) -> None:
    """Make ``sealer`` the one every ``Sealed`` column of this engine uses.

    Why on the dialect: a column type is shared by every engine of the
    process (a test opens several stores), but each engine has its own
    dialect, and SQLAlchemy hands the dialect to every bind and result."""
    setattr(dialect, _UNATTACHED, sealer)


def sealer_of(dialect: Dialect) -> Sealer:
    sealer = getattr(dialect, _UNATTACHED, None)
    if sealer is None:
        raise SealError("the store was opened without its seal (open it with lists.store.open_store)")
    return sealer


class Sealed(TypeDecorator[str]):
    """A text column sealed with its engine's ``Sealer``; ``column`` ("lead.name") is the associated data."""

    impl = Text
    cache_ok = True

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else sealer_of(dialect).seal(value, self.column)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else sealer_of(dialect).open(value, self.column)


def person_key(session: Session, e164: str) -> str:
    """The blind index of ``e164`` in ``session``'s store: how a query finds a person by number."""
    return sealer_of(session.get_bind().dialect).key_of(e164)


def key_default(context: Any) -> str:
    """``phone_key``'s default: the blind index of the row's ``phone_e164`` as given (before it is sealed)."""
    return sealer_of(context.dialect).key_of(context.get_current_parameters()["phone_e164"])
