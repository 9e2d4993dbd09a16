"""
Encrypt secret fields (mail passwords, tokens) with a passphrase.

A :class:`SecretCipher` derives a Fernet key from the passphrase with PBKDF2-HMAC-SHA256 and a
random salt. The salt and the derivation's parameters go into ``metadata.json`` (see
:meth:`SecretCipher.metadata`), so that the passphrase alone recovers the key on import. Each
secret is stored in the manifest as the hex encoding of its Fernet token's bytes.

The key derivation is deliberately slow (a million iterations, about half a second): build one
cipher per run and pass it around rather than deriving a key per record. Deriving it once is the
only caching there is; a module-level cache would keep passphrases alive in the process.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

__all__ = [
    "DEFAULT_ITERATIONS",
    "METADATA_KEY",
    "PAPERLESS_METADATA_KEY",
    "InvalidSecret",
    "encryption_parameters",
    "SecretCipher",
    "decrypt_fields",
    "encrypt_fields",
]

#: PBKDF2 iterations for new exports.
DEFAULT_ITERATIONS = 1_000_000
#: The key under which an exporter stores :meth:`SecretCipher.metadata` in metadata.json.
METADATA_KEY = "encryption"
#: The key under which paperless-ngx stores its encryption parameters in metadata.json; see
#: :meth:`SecretCipher.paperless_metadata`. The values are encrypted the same way.
PAPERLESS_METADATA_KEY = "__crypto__"

KDF = "pbkdf2_sha256"
CIPHER = "fernet"
ENCODING = "hex"
SALT_BYTES = 16
KEY_BYTES = 32


class InvalidSecret(ValueError):
    """A secret could not be decrypted: the passphrase is wrong or the stored token is corrupt."""


class SecretCipher:
    """
    Encrypts and decrypts secret strings with a key derived from a passphrase.

    Build it with :meth:`from_passphrase` (a new export: random salt) or :meth:`from_metadata`
    (an import: the export's salt and iterations). Deriving the key is the expensive part, so
    create one instance per run.
    """

    def __init__(self, fernet: Fernet, *, salt: bytes, iterations: int) -> None:
        """Prefer :meth:`from_passphrase` and :meth:`from_metadata`, which derive the key."""
        self._fernet = fernet
        self.salt = salt
        self.iterations = iterations

    def __repr__(self) -> str:
        # Never the key: reprs end up in logs and tracebacks.
        return f"<SecretCipher {KDF} iterations={self.iterations} salt={self.salt.hex()}>"

    @classmethod
    def from_passphrase(
        cls, passphrase: str, *, salt: bytes | None = None, iterations: int = DEFAULT_ITERATIONS
    ) -> SecretCipher:
        """
        Derive the key from ``passphrase`` (UTF-8) with ``salt``, or 16 random bytes if None.

        Raises ``ValueError`` for an empty passphrase, a salt shorter than 16 bytes or fewer
        than one iteration.
        """
        if not isinstance(passphrase, str):
            raise TypeError(f"The passphrase must be a str, not {type(passphrase).__name__}.")
        if not passphrase:
            raise ValueError("The passphrase is empty: secrets need a non-empty passphrase.")
        if salt is None:
            salt = os.urandom(SALT_BYTES)
        elif not isinstance(salt, bytes) or len(salt) < SALT_BYTES:
            raise ValueError(f"The salt must be at least {SALT_BYTES} bytes.")
        # bool is an int, but True iterations is a bug, not a setting.
        if not isinstance(iterations, int) or isinstance(iterations, bool) or iterations < 1:
            raise ValueError(f"The iteration count must be a positive int, not {iterations!r}.")
        kdf = PBKDF2HMAC(
            algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, iterations=iterations
        )
        key = base64.urlsafe_b64encode(kdf.derive(passphrase.encode("utf-8")))
        return cls(Fernet(key), salt=salt, iterations=iterations)

    @classmethod
    def from_metadata(cls, passphrase: str, metadata: Mapping[str, Any]) -> SecretCipher:
        """
        Rebuild the cipher of an export from ``passphrase`` and its metadata.

        ``metadata`` is what :meth:`metadata` or :meth:`paperless_metadata` returned, or a whole
        metadata.json that holds one of them under :data:`METADATA_KEY` or
        :data:`PAPERLESS_METADATA_KEY`. Raises ``ValueError`` naming what is missing or
        unsupported. A wrong passphrase is only noticed by :meth:`decrypt`: the metadata holds
        no check value.
        """
        if not isinstance(metadata, Mapping):
            raise ValueError("The encryption metadata must be a JSON object.")
        nested = encryption_parameters(metadata)
        if isinstance(nested, Mapping):
            metadata = nested
        if "__key_algo__" in metadata or "__salt_hex__" in metadata:
            metadata = _from_paperless(metadata)
        for name in ("kdf", "iterations", "salt", "cipher", "encoding"):
            if name not in metadata:
                raise ValueError(
                    f"The encryption metadata has no {name!r}: the export's metadata.json is "
                    "incomplete or was not written with a passphrase."
                )
        expected = {"kdf": KDF, "cipher": CIPHER, "encoding": ENCODING}
        for name, supported in expected.items():
            if metadata[name] != supported:
                raise ValueError(
                    f"Unsupported {name} {metadata[name]!r} in the encryption metadata: this "
                    f"version supports only {supported!r}."
                )
        iterations = metadata["iterations"]
        if not isinstance(iterations, int) or isinstance(iterations, bool) or iterations < 1:
            raise ValueError(
                f"The encryption metadata's iterations must be a positive integer, "
                f"not {iterations!r}."
            )
        try:
            salt = bytes.fromhex(metadata["salt"])
        except (TypeError, ValueError):
            raise ValueError("The encryption metadata's salt is not a hex string.") from None
        if len(salt) < SALT_BYTES:
            raise ValueError(f"The encryption metadata's salt is shorter than {SALT_BYTES} bytes.")
        return cls.from_passphrase(passphrase, salt=salt, iterations=iterations)

    def metadata(self) -> dict[str, Any]:
        """What an import needs besides the passphrase, as a JSON-ready dict."""
        return {
            "kdf": KDF,
            "iterations": self.iterations,
            "salt": self.salt.hex(),
            "cipher": CIPHER,
            "encoding": ENCODING,
        }

    def paperless_metadata(self) -> dict[str, Any]:
        """The same parameters as paperless-ngx writes them under ``"__crypto__"``: its
        importer derives the same key from them (the values are Fernet tokens in hex in both)."""
        return {
            "__key_algo__": KDF,
            "__key_iters__": self.iterations,
            "__key_size__": KEY_BYTES,
            "__salt_hex__": self.salt.hex(),
        }

    def encrypt(self, value: str) -> str:
        """Return ``value`` encrypted, as the hex encoding of a Fernet token."""
        if not isinstance(value, str):
            raise TypeError(f"Only str values can be encrypted, not {type(value).__name__}.")
        return self._fernet.encrypt(value.encode("utf-8")).hex()

    def decrypt(self, token: str) -> str:
        """Return the value :meth:`encrypt` turned into ``token``; :exc:`InvalidSecret` if none."""
        try:
            return self._fernet.decrypt(bytes.fromhex(token)).decode("utf-8")
        # Fernet authenticates the token, so a wrong key and a damaged token look the same.
        except (InvalidToken, TypeError, ValueError, binascii.Error):
            raise InvalidSecret(
                "Cannot decrypt a secret: the passphrase is wrong, or the stored value is "
                "corrupt or was never encrypted."
            ) from None


def encrypt_fields(
    record: Mapping[str, Any], field_names: tuple[str, ...], cipher: SecretCipher
) -> dict[str, Any]:
    """
    Return a copy of a serialized record with its named fields encrypted.

    ``record`` has the shape of Django's python serializer (``{"model", "pk", "fields"}``).
    Only non-empty ``str`` values are encrypted; None, "" and values of other types are kept as
    they are, so that a blank secret stays recognisably blank. The record and its ``fields``
    dict are copied (shallowly), never modified. A name missing from ``fields`` raises
    ``KeyError``: a misspelt secret would otherwise be exported in plain text.
    """
    return _transform(record, field_names, cipher.encrypt)


def decrypt_fields(
    record: Mapping[str, Any], field_names: tuple[str, ...], cipher: SecretCipher
) -> dict[str, Any]:
    """
    The reverse of :func:`encrypt_fields`, under the same rules.

    Raises :exc:`InvalidSecret`, naming the record and field, if a value does not decrypt.
    """
    return _transform(record, field_names, cipher.decrypt)


def decrypt_record(
    record: dict[str, Any], secrets: Mapping[str, tuple[str, ...]], cipher: SecretCipher | None
) -> dict[str, Any]:
    """
    ``record`` with its model's secret fields (``secrets``: model label -> field names)
    decrypted, or ``record`` itself when there is nothing to decrypt.

    Raises :exc:`InvalidSecret` when a value does not decrypt or a secret field is missing.
    """
    field_names = secrets.get(record["model"])
    if cipher is None or not field_names:
        return record
    try:
        return decrypt_fields(record, field_names, cipher)
    except KeyError as exc:
        raise InvalidSecret(exc.args[0]) from None


def _transform(
    record: Mapping[str, Any], field_names: tuple[str, ...], function: Callable[[str], str]
) -> dict[str, Any]:
    fields = dict(record["fields"])
    for name in field_names:
        if name not in fields:
            raise KeyError(
                f"{record.get('model')} record pk={record.get('pk')!r} has no field {name!r}"
            )
        value = fields[name]
        if not isinstance(value, str) or not value:
            continue
        try:
            fields[name] = function(value)
        # Only decrypt raises it; the record and field make the error actionable.
        except InvalidSecret as exc:
            raise InvalidSecret(
                f"Cannot decrypt {name!r} of {record.get('model')} pk={record.get('pk')!r}: "
                "the passphrase is wrong, or the stored value is corrupt."
            ) from exc
    return {**record, "fields": fields}


def encryption_parameters(metadata: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The encryption parameters of an export's metadata.json, in either format, or None when
    the export holds no encrypted values."""
    for key in (METADATA_KEY, PAPERLESS_METADATA_KEY):
        if metadata.get(key) is not None:
            return metadata[key]
    return None


def _from_paperless(crypto: Mapping[str, Any]) -> dict[str, Any]:
    """paperless-ngx's ``__crypto__`` parameters in this module's own terms."""
    for name in ("__key_algo__", "__key_iters__", "__key_size__", "__salt_hex__"):
        if name not in crypto:
            raise ValueError(f"The encryption metadata (__crypto__) has no {name!r}.")
    if crypto["__key_size__"] != KEY_BYTES:
        raise ValueError(
            f"Unsupported key size {crypto['__key_size__']!r} in the encryption metadata: "
            f"this version supports only {KEY_BYTES}."
        )
    return {
        "kdf": crypto["__key_algo__"],
        "iterations": crypto["__key_iters__"],
        "salt": crypto["__salt_hex__"],
        "cipher": CIPHER,
        "encoding": ENCODING,
    }
