"""paperless-ngx's ``__crypto__`` parameters: ours derive the key paperless-ngx derives.

The oracle is an independent implementation of paperless-ngx's key derivation (PBKDF2-HMAC-
SHA256 with the standard library, the key as URL-safe base64, values as the hex of the Fernet
token's text).
"""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from cryptography.fernet import Fernet

from exporter.encryption import InvalidSecret, SecretCipher, encryption_parameters

PASSPHRASE = "correct horse battery staple ü"


def paperless_fernet(passphrase: str, crypto: dict) -> Fernet:
    assert crypto["__key_algo__"] == "pbkdf2_sha256"
    key = hashlib.pbkdf2_hmac(
        "sha256",
        passphrase.encode("utf-8"),
        bytes.fromhex(crypto["__salt_hex__"]),
        crypto["__key_iters__"],
        crypto["__key_size__"],
    )
    return Fernet(base64.urlsafe_b64encode(key))


def test_paperless_metadata_has_paperless_keys_and_types():
    cipher = SecretCipher.from_passphrase(PASSPHRASE, iterations=1000)
    crypto = cipher.paperless_metadata()
    assert list(crypto) == ["__key_algo__", "__key_iters__", "__key_size__", "__salt_hex__"]
    assert crypto["__key_iters__"] == 1000 and crypto["__key_size__"] == 32
    assert len(crypto["__salt_hex__"]) == 32 and crypto["__salt_hex__"] == cipher.salt.hex()
    assert SecretCipher.from_passphrase(PASSPHRASE).paperless_metadata()["__key_iters__"] == (
        1_000_000
    )


@pytest.mark.parametrize("value", ["", "x", "pässwörd" * 20])
def test_our_secrets_decrypt_with_paperless_key_derivation(value):
    cipher = SecretCipher.from_passphrase(PASSPHRASE, iterations=1000)
    token = cipher.encrypt(value)
    assert token.startswith("67414141")
    fernet = paperless_fernet(PASSPHRASE, cipher.paperless_metadata())
    assert fernet.decrypt(bytes.fromhex(token)).decode("utf-8") == value


def test_paperless_secrets_decrypt_with_its_metadata():
    crypto = {
        "__key_algo__": "pbkdf2_sha256",
        "__key_iters__": 1000,
        "__key_size__": 32,
        "__salt_hex__": os.urandom(16).hex(),
    }
    token = paperless_fernet(PASSPHRASE, crypto).encrypt(b"imap secret").hex()
    metadata = {"version": "3.0.5", "__crypto__": crypto}
    assert encryption_parameters(metadata) is crypto
    assert SecretCipher.from_metadata(PASSPHRASE, metadata).decrypt(token) == "imap secret"
    with pytest.raises(InvalidSecret):
        SecretCipher.from_metadata("wrong", metadata).decrypt(token)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"__key_algo__": "scrypt"}, "Unsupported kdf 'scrypt'"),
        ({"__key_size__": 16}, "Unsupported key size 16"),
        ({"__salt_hex__": "zz"}, "salt is not a hex string"),
    ],
)
def test_unusable_paperless_parameters_are_named(change, message):
    crypto = {
        "__key_algo__": "pbkdf2_sha256",
        "__key_iters__": 1000,
        "__key_size__": 32,
        "__salt_hex__": "00" * 16,
        **change,
    }
    with pytest.raises(ValueError, match=message):
        SecretCipher.from_metadata(PASSPHRASE, {"__crypto__": crypto})


def test_a_missing_parameter_is_named():
    with pytest.raises(ValueError, match="has no '__key_iters__'"):
        SecretCipher.from_metadata(
            PASSPHRASE, {"__crypto__": {"__key_algo__": "pbkdf2_sha256", "__salt_hex__": "00"}}
        )


def test_plain_metadata_has_no_encryption_parameters():
    assert encryption_parameters({"version": "3.0.5"}) is None
    assert encryption_parameters({"version": "0.1.0", "encryption": None}) is None
