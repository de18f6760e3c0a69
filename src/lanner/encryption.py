"""Values encrypted at rest: SECRET inputs and outputs, and the ``encrypt``/``decrypt`` functions.

Kestra's format, so a value encrypted by one can be read by the other with the same key:

- the key (``lanner.encryption.secret-key``, Kestra's ``kestra.encryption.secret-key``) is
  base64 text of 16, 24 or 32 random bytes (AES-128, -192 or -256);
  ``openssl rand -base64 32`` makes one;
- a value is encrypted with AES-GCM under a random 12-byte nonce and a 128-bit tag, and
  written as ``base64(nonce + ciphertext + tag)`` (the UTF-8 text of the value);
- an encrypted value stored in an execution (a SECRET input or output) is the mapping
  ``{"type": "io.kestra.datatype:aes_encrypted", "value": "<base64>"}`` (Kestra's
  ``EncryptedString``), so whoever reads it knows it is sealed without knowing the flow.

The key is the process's (:func:`configure`, called when the configuration is loaded), as
``secret()`` reads the process's environment: what renders an expression opens a sealed
value with it when the expression reaches that value.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ENCRYPTED_TYPE = "io.kestra.datatype:aes_encrypted"
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = (16, 24, 32)
SETTING = "lanner.encryption.secret-key"
HOW_TO_GENERATE = "openssl rand -base64 32"

_process_key: str | None = None


class EncryptionError(ValueError):
    """A key or an encrypted value that cannot be used; the message says why, never a value."""


def configure(key: str | None) -> None:
    """Set the process's key (None or empty: no key, SECRET inputs and outputs are refused)."""
    global _process_key
    if key:
        key_bytes(key)  # refuse a bad key now, not at the first execution
    _process_key = key or None


def process_key() -> str | None:
    return _process_key


def key_bytes(key: str) -> bytes:
    """The raw AES key of base64 ``key``; :class:`EncryptionError` when it is not one."""
    try:
        raw = base64.b64decode("".join(key.split()), validate=True)
    except (binascii.Error, ValueError):
        raise EncryptionError("the key is not valid base64") from None
    if len(raw) not in KEY_BYTES:
        raise EncryptionError(f"the key is {len(raw)} bytes once base64-decoded; expected 16, 24 or 32 "
                              f"(make one with `{HOW_TO_GENERATE}`)")
    return raw


def encrypt(key: str, plaintext: str) -> str:
    """``base64(nonce + ciphertext + tag)`` of ``plaintext`` under base64 ``key`` (Kestra's EncryptionService)."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key_bytes(key)).encrypt(nonce, plaintext.encode("utf-8"), None)
    return base64.b64encode(nonce + sealed).decode("ascii")


def decrypt(key: str, encrypted: str) -> str:
    """The text :func:`encrypt` sealed; :class:`EncryptionError` for another key or a damaged value."""
    raw_key = key_bytes(key)
    try:
        data = base64.b64decode("".join(encrypted.split()), validate=True)
    except (binascii.Error, ValueError):
        raise EncryptionError("the encrypted value is not valid base64") from None
    if len(data) < NONCE_BYTES + TAG_BYTES:
        raise EncryptionError("the encrypted value is too short to hold a nonce and a tag")
    try:
        plain = AESGCM(raw_key).decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], None)
    except InvalidTag:
        raise EncryptionError("the value was encrypted with another key, or was altered") from None
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:
        raise EncryptionError("the decrypted value is not UTF-8 text") from None


# -- sealed values in executions ----------------------------------------------------------------


def is_sealed(value: Any) -> bool:
    """Whether ``value`` is an encrypted value as stored in an execution."""
    return type(value) is dict and value.get("type") == ENCRYPTED_TYPE and isinstance(value.get("value"), str)


def seal(plaintext: str) -> dict[str, str]:
    """``plaintext`` encrypted with the process's key, in the stored shape; EncryptionError without a key."""
    key = _process_key
    if key is None:
        raise EncryptionError(no_key_message("a SECRET value"))
    return {"type": ENCRYPTED_TYPE, "value": encrypt(key, plaintext)}


def unseal(sealed: dict[str, Any]) -> str:
    """The text of a sealed value, with the process's key; EncryptionError saying what to check."""
    key = _process_key
    if key is None:
        raise EncryptionError(f"cannot decrypt a SECRET value: no encryption key is configured; set {SETTING} "
                              "to the key it was encrypted with")
    try:
        return decrypt(key, sealed["value"])
    except EncryptionError as exc:
        raise EncryptionError(f"cannot decrypt a SECRET value: {exc}; check that {SETTING} is the key "
                              "it was encrypted with") from None


def no_key_message(what: str) -> str:
    return (f"{what} needs an encryption key, and none is configured: set {SETTING} to a base64-encoded "
            f"32-byte key (make one with `{HOW_TO_GENERATE}`)")


MASK = "******"  # what a secret shows as, wherever it would have appeared


def masked(value: Any) -> Any:
    """``value`` with every sealed value inside it shown as ``******`` (what the API and the UI show)."""
    if is_sealed(value):
        return MASK
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value
