"""Secrets the gateway must be able to read back (the partner bank's HMAC keys), encrypted at rest.

AES-256-GCM under a key derived with HKDF-SHA256 from GATEWAY_PARTNER_MASTER_KEY. Each sealed value
is bound to what it belongs to (`context`, e.g. the key id), so a ciphertext copied onto another
row does not open there. Layout: version byte, 12-byte nonce, ciphertext with its 16-byte tag.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"\x01"
NONCE_BYTES = 12
_INFO = b"salesteam-gateway/partner-secrets/v1"


class SecretUnreadable(Exception):
    """A sealed secret does not open: the master key changed, or the stored value was altered."""


class SecretBox:
    def __init__(self, master_key: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(master_key.encode("utf-8"))
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, *, context: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)  # random 96-bit nonces: safe far beyond the keys we will ever issue
        return VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))

    def open(self, sealed: bytes, *, context: str) -> str:
        if sealed[:1] != VERSION or len(sealed) < 1 + NONCE_BYTES + 16:
            raise SecretUnreadable("unknown format of a sealed secret")
        nonce, ciphertext = sealed[1:1 + NONCE_BYTES], sealed[1 + NONCE_BYTES:]
        try:
            return self._aead.decrypt(nonce, ciphertext, context.encode("utf-8")).decode("utf-8")
        except InvalidTag:
            raise SecretUnreadable("a sealed secret does not open with this master key") from None
