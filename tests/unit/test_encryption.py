"""AES-GCM values in Kestra's format, sealed SECRET values, and the encrypt/decrypt functions."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lanner import encryption
from lanner.encryption import EncryptionError
from lanner.expr import ExpressionError, render

# The key Kestra's configuration guide shows: base64 of 32 characters.
KESTRA_DOCS_KEY = "NWRhUDc5TERWY2QyMDhSSHhfeWYzbjJpNE5vb3M5NnY="


def new_key(size: int = 32) -> str:
    return base64.b64encode(os.urandom(size)).decode()


def test_the_format_is_kestras_base64_of_nonce_then_ciphertext_and_tag():
    text = "pässword"
    sealed = encryption.encrypt(KESTRA_DOCS_KEY, text)
    raw = base64.b64decode(sealed)
    assert len(raw) == 12 + len(text.encode()) + 16
    opened = AESGCM(base64.b64decode(KESTRA_DOCS_KEY)).decrypt(raw[:12], raw[12:], None)
    assert opened.decode() == text


def test_a_value_sealed_the_way_kestra_does_decrypts():
    key, nonce = new_key(), os.urandom(12)
    kestra_value = base64.b64encode(nonce + AESGCM(base64.b64decode(key)).encrypt(nonce, b"from kestra", None)).decode()
    assert encryption.decrypt(key, kestra_value) == "from kestra"


def test_each_encryption_uses_a_fresh_nonce():
    assert encryption.encrypt(KESTRA_DOCS_KEY, "same") != encryption.encrypt(KESTRA_DOCS_KEY, "same")


@pytest.mark.parametrize("size", [16, 24, 32])
def test_aes_key_sizes_are_accepted(size):
    key = new_key(size)
    assert encryption.decrypt(key, encryption.encrypt(key, "x")) == "x"


@pytest.mark.parametrize(("key", "why"), [("not base64!", "not valid base64"),
                                          (base64.b64encode(b"short").decode(), "5 bytes once base64-decoded")])
def test_a_bad_key_says_why(key, why):
    with pytest.raises(EncryptionError, match=why):
        encryption.encrypt(key, "x")
    with pytest.raises(EncryptionError, match=why):
        encryption.configure(key)


def test_another_key_or_an_altered_value_fails_without_showing_anything():
    sealed = encryption.encrypt(new_key(), "hunter2")
    with pytest.raises(EncryptionError, match="another key, or was altered") as caught:
        encryption.decrypt(new_key(), sealed)
    assert "hunter2" not in str(caught.value)


def test_seal_needs_the_process_key_and_unseal_names_the_setting(encryption_key):
    sealed = encryption.seal("hunter2")
    assert sealed["type"] == "io.kestra.datatype:aes_encrypted"
    assert encryption.unseal(sealed) == "hunter2"
    encryption.configure(new_key())  # the key changed
    with pytest.raises(EncryptionError, match="lanner.encryption.secret-key is the key it was encrypted with"):
        encryption.unseal(sealed)
    encryption.configure(None)  # the key was lost
    with pytest.raises(EncryptionError, match="no encryption key is configured; set lanner.encryption.secret-key"):
        encryption.unseal(sealed)
    with pytest.raises(EncryptionError, match="openssl rand -base64 32"):
        encryption.seal("x")


def test_masked_shows_sealed_values_as_stars(encryption_key):
    value = {"a": encryption.seal("x"), "b": [encryption.seal("y"), "clear"], "c": 1}
    assert encryption.masked(value) == {"a": "******", "b": ["******", "clear"], "c": 1}


# -- the expression functions ----------------------------------------------------------------------

def test_encrypt_and_decrypt_functions_round_trip_and_decrypt_reveals():
    key = new_key()
    sealed = render("{{ encrypt(key, 'hunter2') }}", {"key": key})
    assert encryption.decrypt(key, sealed) == "hunter2"
    revealed: set[str] = set()
    assert render("{{ decrypt(key, value) }}", {"key": key, "value": sealed}, secrets=revealed) == "hunter2"
    assert revealed == {"hunter2"}
    # Named arguments, Kestra's names.
    assert render("{{ decrypt(key=k, encrypted=encrypt(key=k, plaintext='ok')) }}", {"k": key}) == "ok"


def test_decrypt_with_another_key_is_a_clear_expression_error():
    sealed = encryption.encrypt(new_key(), "hunter2")
    with pytest.raises(ExpressionError, match="the `decrypt` function cannot decrypt: the value was encrypted "
                                              "with another key, or was altered") as caught:
        render("{{ decrypt(key, value) }}", {"key": new_key(), "value": sealed})
    assert "hunter2" not in caught.value.message


def test_encrypt_with_a_bad_key_is_a_clear_expression_error():
    with pytest.raises(ExpressionError, match="the `encrypt` function cannot encrypt: the key is 3 bytes"):
        render("{{ encrypt('YWJj', 'x') }}", {})
