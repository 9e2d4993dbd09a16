"""Secrets with ``--passphrase`` in a paperless-ngx twin, both ways.

Export: metadata.json carries paperless-ngx's ``__crypto__`` block, every secret decrypts with
an independent PBKDF2 + Fernet to the plaintext in the database, and the manifest is otherwise
paperless-ngx's own bytes. Import: an encrypted export as paperless-ngx writes it (made by the
oracle) restores the plaintext secrets; without the passphrase it is refused cleanly and the
database stays as it was.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.paperless.compare import assert_same_bytes
from tests.paperless.oracle import SECRETS
from tests.paperless.paperless_crypto import TOKEN_PREFIX, decrypt_value, fernet_for
from tests.paperless.restore import add_consumer

pytestmark = pytest.mark.django_db

PASSPHRASE = "Tr0ub4dor & 3 — sécret"
#: An encrypted value inside a manifest: the JSON string of a Fernet token's hex.
ENCRYPTED = re.compile(rb'"(' + TOKEN_PREFIX.encode() + rb'[0-9a-f]+)"')


def probe(twin, what: str) -> dict:
    """The twin's ``probe secrets`` or ``probe snapshot`` answer."""
    done = twin.module("tests.paperless.probe", what, check=True)
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def plaintext(twin) -> dict:
    """The seeded twin's secrets; the seed must hold some, else nothing here is tested."""
    found = probe(twin, "secrets")
    for label in SECRETS:
        assert any(any(values) for values in found[label].values()), f"no {label} secret"
    return found


@pytest.fixture(scope="module")
def encrypted_export(twin, tmp_path_factory):
    """Our export of the seeded twin with --passphrase (data only): its folder."""
    target = tmp_path_factory.mktemp("encrypted") / "export"
    target.mkdir()
    done = twin.manage(
        "streaming_exporter",
        str(target),
        "--stream",
        "--data-only",
        "--no-progress-bar",
        "--passphrase",
        PASSPHRASE,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return target


def test_metadata_has_paperless_crypto_block(encrypted_export):
    metadata = json.loads((encrypted_export / "metadata.json").read_bytes())
    assert list(metadata)[:2] == ["version", "__crypto__"]
    assert metadata["version"] == "3.0.5"
    crypto = metadata["__crypto__"]
    assert list(crypto) == ["__key_algo__", "__key_iters__", "__key_size__", "__salt_hex__"]
    assert crypto["__key_algo__"] == "pbkdf2_sha256"
    for key, value in (("__key_iters__", 1_000_000), ("__key_size__", 32)):
        assert type(crypto[key]) is int and crypto[key] == value, (key, crypto[key])
    assert re.fullmatch(r"[0-9a-f]{32}", crypto["__salt_hex__"]), crypto["__salt_hex__"]


def test_secrets_decrypt_to_the_database_plaintext(encrypted_export, plaintext):
    crypto = json.loads((encrypted_export / "metadata.json").read_bytes())["__crypto__"]
    fernet = fernet_for(PASSPHRASE, crypto)
    records = json.loads((encrypted_export / "manifest.json").read_bytes())
    seen = {label: 0 for label in SECRETS}
    for record in records:
        fields = SECRETS.get(record["model"])
        if fields is None:
            continue
        seen[record["model"]] += 1
        stored = plaintext[record["model"]][str(record["pk"])]
        for field, value in zip(fields, stored, strict=True):
            written = record["fields"][field]
            if value:
                assert written.startswith(TOKEN_PREFIX), (record["pk"], field, written)
                assert decrypt_value(fernet, written) == value, (record["pk"], field)
            else:
                assert written == value, (record["pk"], field, written)
    assert all(seen.values()), seen


def test_rest_of_manifest_is_paperless_bytes(twin, encrypted_export, tmp_path):
    crypto = json.loads((encrypted_export / "metadata.json").read_bytes())["__crypto__"]
    fernet = fernet_for(PASSPHRASE, crypto)

    def plain(match: re.Match) -> bytes:
        value = decrypt_value(fernet, match.group(1).decode("ascii"))
        return json.dumps(value, ensure_ascii=False).encode("utf-8")

    manifest = (encrypted_export / "manifest.json").read_bytes()
    decrypted, count = ENCRYPTED.subn(plain, manifest)
    assert count
    oracle = twin.oracle(tmp_path / "oracle")
    assert_same_bytes(decrypted, (oracle / "manifest.json").read_bytes())


@pytest.fixture(scope="module")
def paperless_export(twin, tmp_path_factory):
    """An encrypted export of the seeded twin as paperless-ngx 3.0.5 writes it."""
    output = twin.oracle(
        tmp_path_factory.mktemp("paperless-made") / "export", "--passphrase", PASSPHRASE
    )
    metadata = json.loads((output / "metadata.json").read_bytes())
    assert list(metadata) == ["version", "__crypto__"]
    assert ENCRYPTED.search((output / "manifest.json").read_bytes())
    return output


def test_import_without_passphrase_is_refused(empty_twin, paperless_export):
    before = probe(empty_twin, "snapshot")
    done = empty_twin.manage(
        "streaming_importer", str(paperless_export), "--data-only", "--no-progress-bar"
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Traceback" not in output, output
    assert "passphrase" in output.lower(), output
    assert probe(empty_twin, "snapshot") == before


def test_import_with_a_wrong_passphrase_is_refused(empty_twin, paperless_export):
    before = probe(empty_twin, "snapshot")
    done = empty_twin.manage(
        "streaming_importer",
        str(paperless_export),
        "--data-only",
        "--no-progress-bar",
        "--passphrase",
        PASSPHRASE + "x",
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output, output
    assert "passphrase" in output.lower(), output
    assert probe(empty_twin, "snapshot") == before


def test_verify_with_a_wrong_passphrase_fails(empty_twin, paperless_export):
    done = empty_twin.manage(
        "verify_export", str(paperless_export), "--passphrase", PASSPHRASE + "x"
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output, output
    assert "passphrase" in output.lower(), output


def test_import_with_passphrase_restores_plaintext(twin, empty_twin, paperless_export, plaintext):
    add_consumer(twin, empty_twin)
    done = empty_twin.manage(
        "streaming_importer",
        str(paperless_export),
        "--data-only",
        "--no-progress-bar",
        "--passphrase",
        PASSPHRASE,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    records = json.loads((paperless_export / "manifest.json").read_bytes())
    exported = {label: {str(r["pk"]) for r in records if r["model"] == label} for label in SECRETS}
    expected = {
        label: {pk: values for pk, values in rows.items() if pk in exported[label]}
        for label, rows in plaintext.items()
    }
    assert all(expected.values()), expected
    assert probe(empty_twin, "secrets") == expected
