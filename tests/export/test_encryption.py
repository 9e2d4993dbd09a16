"""Secret fields encrypted with a passphrase: round trips, clear failures, metadata."""

from __future__ import annotations

import copy
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.encryption import (
    DEFAULT_ITERATIONS,
    METADATA_KEY,
    InvalidSecret,
    SecretCipher,
    decrypt_fields,
    encrypt_fields,
)

# The default KDF costs about half a second per key: the tests use a cheap one, except
# test_default_parameters_round_trip.
FAST = 1_000
SALT = bytes(range(16))
SECRET_FIELDS = ("password", "refresh_token")


@pytest.fixture(scope="module")
def cipher() -> SecretCipher:
    return SecretCipher.from_passphrase("correct horse", iterations=FAST)


def mail_account(**fields) -> dict:
    return {
        "model": "documents.mailaccount",
        "pk": 7,
        "fields": {"name": "Work", "username": "me", **fields},
    }


def test_default_parameters_round_trip():
    cipher = SecretCipher.from_passphrase("correct horse")
    metadata = cipher.metadata()
    assert metadata["iterations"] == DEFAULT_ITERATIONS == 1_000_000
    token = cipher.encrypt("hunter2")
    again = SecretCipher.from_metadata("correct horse", json.loads(json.dumps(metadata)))
    assert again.decrypt(token) == "hunter2"


@pytest.mark.parametrize(
    "value", ["hunter2", "ünïcödé 😀 日本語", " ", "\x00", "x" * 5000, "line\nbreak"]
)
def test_round_trip(cipher, value):
    assert cipher.decrypt(cipher.encrypt(value)) == value


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"])))
def test_round_trip_any_text(value):
    cipher = SecretCipher.from_passphrase("p", salt=SALT, iterations=1)
    assert cipher.decrypt(cipher.encrypt(value)) == value


def test_tokens_are_hex_encoded_fernet_tokens(cipher):
    token = cipher.encrypt("hunter2")
    assert re.fullmatch("[0-9a-f]+", token)
    # A Fernet token is URL-safe base64 of a version byte 0x80 and more.
    assert bytes.fromhex(token).startswith(b"gAAAAA")


def test_encrypting_twice_gives_different_tokens(cipher):
    assert cipher.encrypt("hunter2") != cipher.encrypt("hunter2")


def test_the_same_passphrase_and_salt_derive_the_same_key():
    token = SecretCipher.from_passphrase("p", salt=SALT, iterations=FAST).encrypt("v")
    assert SecretCipher.from_passphrase("p", salt=SALT, iterations=FAST).decrypt(token) == "v"


def test_wrong_passphrase_raises_invalid_secret(cipher):
    token = cipher.encrypt("hunter2")
    wrong = SecretCipher.from_metadata("Correct horse", cipher.metadata())
    with pytest.raises(InvalidSecret, match="passphrase is wrong"):
        wrong.decrypt(token)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda t: t[:-2] + ("00" if t[-2:] != "00" else "11"), id="flipped"),
        pytest.param(lambda t: t[:40], id="truncated"),
        pytest.param(lambda t: t + "0", id="odd-length"),
        pytest.param(lambda t: "not hex at all", id="not-hex"),
        pytest.param(lambda t: "", id="empty"),
        pytest.param(lambda t: "hunter2", id="plain-text"),
    ],
)
def test_corrupt_token_raises_invalid_secret(cipher, damage):
    with pytest.raises(InvalidSecret, match="corrupt"):
        cipher.decrypt(damage(cipher.encrypt("hunter2")))


def test_invalid_secret_is_a_value_error():
    assert issubclass(InvalidSecret, ValueError)


def test_salt_is_random_per_cipher():
    first = SecretCipher.from_passphrase("p", iterations=1)
    second = SecretCipher.from_passphrase("p", iterations=1)
    assert len(first.salt) == len(second.salt) == 16
    assert first.salt != second.salt
    with pytest.raises(InvalidSecret):
        second.decrypt(first.encrypt("v"))


def test_metadata(cipher):
    assert cipher.metadata() == {
        "kdf": "pbkdf2_sha256",
        "iterations": FAST,
        "salt": cipher.salt.hex(),
        "cipher": "fernet",
        "encoding": "hex",
    }


def test_metadata_round_trip(cipher):
    token = cipher.encrypt("hunter2")
    metadata = json.loads(json.dumps(cipher.metadata()))
    again = SecretCipher.from_metadata("correct horse", metadata)
    assert again.metadata() == cipher.metadata()
    assert again.decrypt(token) == "hunter2"


def test_from_metadata_accepts_a_whole_metadata_json(cipher):
    token = cipher.encrypt("hunter2")
    document = {"version": "1.0", METADATA_KEY: cipher.metadata()}
    assert SecretCipher.from_metadata("correct horse", document).decrypt(token) == "hunter2"


@pytest.mark.parametrize("missing", ["kdf", "iterations", "salt", "cipher", "encoding"])
def test_from_metadata_names_a_missing_entry(cipher, missing):
    metadata = cipher.metadata()
    del metadata[missing]
    with pytest.raises(ValueError, match=f"has no '{missing}'"):
        SecretCipher.from_metadata("correct horse", metadata)


@pytest.mark.parametrize(
    ("entry", "value", "message"),
    [
        ("kdf", "argon2id", "Unsupported kdf 'argon2id'.*'pbkdf2_sha256'"),
        ("cipher", "aes-gcm", "Unsupported cipher 'aes-gcm'"),
        ("encoding", "base64", "Unsupported encoding 'base64'"),
        ("iterations", "1000", "positive integer"),
        ("iterations", 0, "positive integer"),
        ("iterations", True, "positive integer"),
        ("salt", "zz", "not a hex string"),
        ("salt", 1234, "not a hex string"),
        ("salt", "00ff", "shorter than 16 bytes"),
    ],
)
def test_from_metadata_rejects_bad_entries(cipher, entry, value, message):
    metadata = {**cipher.metadata(), entry: value}
    with pytest.raises(ValueError, match=message):
        SecretCipher.from_metadata("correct horse", metadata)


def test_from_metadata_rejects_a_non_object():
    with pytest.raises(ValueError, match="JSON object"):
        SecretCipher.from_metadata("p", ["kdf"])


def test_empty_passphrase_is_refused():
    with pytest.raises(ValueError, match="passphrase is empty"):
        SecretCipher.from_passphrase("", iterations=1)
    with pytest.raises(TypeError):
        SecretCipher.from_passphrase(None, iterations=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"salt": b"short"}, "at least 16 bytes"),
        ({"salt": "0" * 32}, "at least 16 bytes"),
        ({"iterations": 0}, "positive int"),
        ({"iterations": 1.5}, "positive int"),
    ],
)
def test_from_passphrase_checks_its_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SecretCipher.from_passphrase("p", **kwargs)


def test_only_str_values_are_encrypted(cipher):
    with pytest.raises(TypeError):
        cipher.encrypt(b"bytes")


def test_repr_shows_no_key(cipher):
    text = repr(cipher)
    assert cipher.salt.hex() in text
    assert "key" not in text.lower()


def test_encrypt_fields_round_trip(cipher):
    record = mail_account(password="hunter2", refresh_token="tok-😀")
    encrypted = encrypt_fields(record, SECRET_FIELDS, cipher)
    assert encrypted["model"] == record["model"] and encrypted["pk"] == record["pk"]
    for name in SECRET_FIELDS:
        assert re.fullmatch("[0-9a-f]+", encrypted["fields"][name])
    assert encrypted["fields"]["name"] == "Work" and encrypted["fields"]["username"] == "me"
    assert decrypt_fields(encrypted, SECRET_FIELDS, cipher) == record


@pytest.mark.parametrize("value", [None, "", 0, 42, True, 1.5, ["x"], {"a": "b"}])
def test_non_str_and_empty_values_are_unchanged(cipher, value):
    record = mail_account(password="hunter2", refresh_token=value)
    encrypted = encrypt_fields(record, SECRET_FIELDS, cipher)
    assert encrypted["fields"]["refresh_token"] == value
    assert encrypted["fields"]["password"] != "hunter2"
    decrypted = decrypt_fields(encrypted, SECRET_FIELDS, cipher)
    assert decrypted["fields"]["refresh_token"] == value
    assert decrypted == record


def test_input_record_is_not_mutated(cipher):
    record = mail_account(password="hunter2", refresh_token=None)
    snapshot = copy.deepcopy(record)
    fields = record["fields"]
    encrypted = encrypt_fields(record, SECRET_FIELDS, cipher)
    assert record == snapshot and record["fields"] is fields
    assert encrypted is not record and encrypted["fields"] is not fields
    encrypted_snapshot = copy.deepcopy(encrypted)
    decrypt_fields(encrypted, SECRET_FIELDS, cipher)
    assert encrypted == encrypted_snapshot


def test_a_missing_field_is_an_error_not_a_plain_text_secret(cipher):
    with pytest.raises(KeyError, match="has no field 'passwd'"):
        encrypt_fields(mail_account(password="hunter2"), ("passwd",), cipher)


def test_decrypt_fields_names_the_field_that_fails(cipher):
    encrypted = encrypt_fields(
        mail_account(password="hunter2", refresh_token=""), SECRET_FIELDS, cipher
    )
    other = SecretCipher.from_passphrase("other", iterations=FAST)
    with pytest.raises(InvalidSecret, match="'password' of documents.mailaccount pk=7"):
        decrypt_fields(encrypted, SECRET_FIELDS, other)


def test_no_secret_fields_returns_an_equal_copy(cipher):
    record = mail_account(password="hunter2")
    result = encrypt_fields(record, (), cipher)
    assert result == record and result is not record
