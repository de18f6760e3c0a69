"""Keys and sealing: AES-256-GCM from ``cryptography``, one key per backup file.

The key an operator gives is never used as is.  A passphrase goes through scrypt
(memory-hard, so guessing it is slow); a raw 256-bit key (64 hex digits, or
``base64:`` and 32 bytes) goes through HKDF-SHA256.  Either way a random salt, stored
in the header, makes each file's key unique, and 64 bytes are derived: the first 32
encrypt, the last 32 make a ``key_check`` (an HMAC stored in the header) so that a
wrong key is told apart from a damaged file before any frame is opened.

Each frame gets a fresh random 96-bit nonce; its index, whether it is the last one,
and the SHA-256 of the header are bound to it as associated data, so a reordered,
dropped, truncated or re-headed file fails authentication.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from lanner.errors import BackupInvalidError, UsageError
from lanner.ops.backups.manifest import Encryption, b64, unb64

ALGORITHM = "AES-256-GCM"
NONCE_BYTES = 12
TAG_BYTES = 16
SCRYPT = {"n": 2**15, "r": 8, "p": 1}
_HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}$")
_CHECK = b"lanner backup key check"


def new_encryption(key: str) -> tuple[Encryption, bytes]:
    """The header's encryption block for a new file, and the data key."""
    salt = os.urandom(16)
    raw = _raw_key(key)
    kdf, params = ("hkdf-sha256", {}) if raw is not None else ("scrypt", dict(SCRYPT))
    derived = _derive(key, kdf, salt, params)
    check = hmac.new(derived[32:], _CHECK, hashlib.sha256).digest()
    return Encryption(ALGORITHM, kdf, b64(salt), b64(check), params), derived[:32]


def open_key(key: str, encryption: Encryption, where: str) -> bytes:
    """The data key of an existing file; BackupInvalidError when ``key`` is not the one it was made with."""
    if encryption.algorithm != ALGORITHM or encryption.kdf not in ("scrypt", "hkdf-sha256"):
        raise BackupInvalidError(f"{where} is encrypted with {encryption.algorithm}/{encryption.kdf}, "
                                 "which this Lanner does not know")
    if encryption.kdf == "hkdf-sha256" and _raw_key(key) is None:
        raise BackupInvalidError(
            f"{where} was encrypted with a raw 256-bit key, and the key given is a passphrase: wrong key",
            "Give the 64-hex-digit (or base64:) key the backup was created with.",
        )
    derived = _derive(key, encryption.kdf, unb64(encryption.salt), encryption.params)
    check = hmac.new(derived[32:], _CHECK, hashlib.sha256).digest()
    if not hmac.compare_digest(check, unb64(encryption.key_check)):
        raise BackupInvalidError(
            f"wrong encryption key for {where}: it is not the key the backup was created with",
            "Give the key used by 'lanner backups create' (--encryption-key or LANNER_BACKUP_ENCRYPTION_KEY).",
        )
    return derived[:32]


def _raw_key(key: str) -> bytes | None:
    if _HEX_KEY.match(key):
        return bytes.fromhex(key)
    if key.startswith("base64:"):
        try:
            raw = base64.b64decode(key[len("base64:"):], validate=True)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise UsageError("a base64: encryption key must encode exactly 32 bytes",
                             "Generate a raw key with: openssl rand -hex 32")
        return raw
    return None


def _derive(key: str, kdf: str, salt: bytes, params: dict[str, int]) -> bytes:
    if kdf == "hkdf-sha256":
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        raw = _raw_key(key)
        assert raw is not None
        return HKDF(algorithm=hashes.SHA256(), length=64, salt=salt, info=b"lanner backup v1").derive(raw)
    if not key:
        raise UsageError("the encryption key is empty")
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=64, n=params["n"], r=params["r"], p=params["p"]).derive(key.encode())


class Sealer:
    """Seals and opens frames with one data key."""

    def __init__(self, data_key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(data_key)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, sealed: bytes, aad: bytes) -> bytes | None:
        """The plaintext, or None when authentication fails."""
        from cryptography.exceptions import InvalidTag

        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
        except (InvalidTag, ValueError):
            return None
