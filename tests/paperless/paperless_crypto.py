"""paperless-ngx's secret-field encryption, written from its published format only.

PBKDF2-HMAC-SHA256 of the UTF-8 passphrase over the salt gives 32 bytes; their URL-safe base64
is a Fernet key; a secret is stored as the lowercase hex of the Fernet token's text. Kept apart
from the engine's :mod:`exporter.encryption` so that the tests check one against the other.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.fernet import Fernet

#: paperless-ngx's key derivation parameters on export.
KEY_ALGO = "pbkdf2_sha256"
KEY_ITERATIONS = 1_000_000
KEY_SIZE = 32
#: The hex of ``gAAA``: how every encrypted value starts (Fernet's version byte and timestamp).
TOKEN_PREFIX = "67414141"


def crypto_block(salt: bytes | None = None, iterations: int = KEY_ITERATIONS) -> dict:
    """A ``__crypto__`` object of metadata.json, keys in paperless-ngx's order."""
    salt = os.urandom(16) if salt is None else salt
    return {
        "__key_algo__": KEY_ALGO,
        "__key_iters__": iterations,
        "__key_size__": KEY_SIZE,
        "__salt_hex__": salt.hex(),
    }


def fernet_for(passphrase: str, crypto: dict) -> Fernet:
    """The Fernet that ``crypto`` (a ``__crypto__`` object) and ``passphrase`` describe."""
    if crypto["__key_algo__"] != KEY_ALGO:
        raise ValueError(f"unknown key algorithm {crypto['__key_algo__']!r}")
    key = hashlib.pbkdf2_hmac(
        "sha256",
        passphrase.encode("utf-8"),
        bytes.fromhex(crypto["__salt_hex__"]),
        crypto["__key_iters__"],
        crypto["__key_size__"],
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_value(fernet: Fernet, value: str) -> str:
    """A secret as paperless-ngx stores it in a manifest: hex of the token's ASCII text."""
    return fernet.encrypt(value.encode("utf-8")).hex()


def decrypt_value(fernet: Fernet, value: str) -> str:
    """The plaintext of a stored secret (no TTL, as paperless-ngx decrypts)."""
    return fernet.decrypt(bytes.fromhex(value)).decode("utf-8")
