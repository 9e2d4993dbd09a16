"""Hostile values in the database: the whole of Unicode, awkward titles, extreme JSON numbers.

What the database can hold, ``--stream`` writes byte for byte as the classic exporter, and the
export restores into an empty database and exports again to the same bytes. What JSON or UTF-8
cannot carry (a lone surrogate; a NaN or Infinity float) stops the exporter, or the reader, with
a CommandError naming the record and the fix, never a traceback.
"""

from __future__ import annotations

import io
import random

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from documents.generator import generate_archive
from documents.models import CustomFieldInstance, Document, Note, SavedView, UiSettings
from tests.helpers.archives import wipe
from tests.helpers.exports import export, read_tree

pytestmark = pytest.mark.django_db


def hostile_text(rng: random.Random, length: int) -> str:
    """Characters from every plane but the surrogates, with the usual troublemakers."""
    specials = "\x00\x01\x1f\x7f\x85\u2028\u2029\u200e\u200f\u202e\ufeff\ufffe\U0001f4c4\U0010ffff"
    chars = []
    for _ in range(length):
        roll = rng.random()
        if roll < 0.3:
            chars.append(rng.choice(specials))
        else:
            code = rng.randrange(0x110000)
            while 0xD800 <= code <= 0xDFFF:
                code = rng.randrange(0x110000)
            chars.append(chr(code))
    text = "".join(chars)
    if connection.vendor == "postgresql":
        # PostgreSQL text cannot hold NUL at all.
        text = text.replace("\x00", "\ufffd")
    return text


def deep(levels: int) -> object:
    value: object = {"leaf": [1e-7, 2**70, -(2**65), 0.1, 1e300, 5e-324]}
    for level in range(levels):
        value = [value] if level % 2 else {"k": value}
    return value


@pytest.fixture
def archive(media):
    generate_archive(documents=60, seed=21)
    rng = random.Random(5)
    documents = list(Document.global_objects.order_by("pk")[:12])
    for index, document in enumerate(documents):
        document.title = hostile_text(rng, 120)
        document.content = hostile_text(rng, 3000)
        if index == 0:
            document.title = ""
        elif index in (1, 2):
            document.title = "Invoice / 2024 ?"  # both sanitise to the same name
        elif index == 3:
            document.title = "\U0001f9fe" * 128  # 512 bytes of UTF-8
        document.save()
    Note.objects.filter(pk=1).update(note=hostile_text(rng, 500))
    # MariaDB's JSON_VALID allows at most 32 levels of nesting.
    UiSettings.objects.filter(pk=1).update(
        settings={
            "deep": deep(28 if connection.vendor == "mysql" else 200),
            "big": 2**200,
            "tiny": 1e-7,
            "text": hostile_text(rng, 50),
        }
    )
    SavedView.objects.filter(pk=1).update(display_fields=[hostile_text(rng, 10), 2**64, -0.0])
    return media


@pytest.mark.parametrize("args", [(), ("-sm", "-f"), ("-z", "-zn", "b")], ids=str)
def test_hostile_values_export_alike_and_round_trip(archive, tmp_path, args):
    classic = export(tmp_path / "classic", *args, stream=False)
    stream = export(tmp_path / "stream", *args)
    assert read_tree(stream, None) == read_tree(classic, None)
    source = stream / "b.zip" if "-z" in args else stream
    call_command("verify_export", str(source), stdout=io.StringIO(), stderr=io.StringIO())
    wipe(archive)
    call_command("document_importer", str(source), "--no-progress-bar", verbosity=0)
    again = export(tmp_path / "again", *args)
    assert read_tree(again, None) == read_tree(stream, None)


def test_a_lone_surrogate_names_the_record(archive, tmp_path):
    """SQLite keeps a JSON "\\ud800" escape; PostgreSQL's jsonb and MariaDB's JSON_VALID
    refuse it, so there the database never holds one."""
    if connection.vendor != "sqlite":
        with pytest.raises(Exception, match="surrogate|CONSTRAINT"):
            UiSettings.objects.filter(pk=2).update(settings={"s": "a\ud800b"})
        return
    UiSettings.objects.filter(pk=2).update(settings={"s": ["x", {"k": "a\ud800b"}]})
    for stream in (True, False):
        target = tmp_path / f"export-{stream}"
        with pytest.raises(CommandError) as failure:
            export(target, stream=stream)
        message = str(failure.value)
        assert "documents.uisettings pk=2" in message, message
        assert "fields.settings.s[1].k" in message and "lone surrogate" in message, message
        assert list(target.iterdir()) == []


def test_infinity_and_nan_floats_give_a_clear_error_on_reading(archive, tmp_path):
    """The exporters write them as Python's json does (Django's loaddata reads that); verify
    and the importer, which read strict JSON, say which record and what to fix."""
    values = [float("inf")]
    if connection.vendor == "postgresql":
        values.append(float("nan"))
    elif connection.vendor == "mysql":
        pytest.skip("MariaDB's DOUBLE holds neither NaN nor Infinity")
    instance = CustomFieldInstance.objects.filter(value_float__isnull=False).order_by("pk")[0]
    for value in values:
        CustomFieldInstance.objects.filter(pk=instance.pk).update(value_float=value)
        token = "NaN" if value != value else "Infinity"
        target = export(tmp_path / token, "--data-only")
        classic = export(tmp_path / f"{token}-classic", "--data-only", stream=False)
        assert read_tree(target, None) == read_tree(classic, None)
        err = io.StringIO()
        with pytest.raises(CommandError, match="Verification failed: 1 problems"):
            call_command("verify_export", str(target), stdout=io.StringIO(), stderr=err)
        assert f"holds the number {token}" in err.getvalue(), err.getvalue()
        assert "manifest.json record " in err.getvalue()
    wipe(archive)
    with pytest.raises(CommandError, match=f"manifest.json .*record .*{token}"):
        call_command(
            "document_importer", str(target), "--data-only", "--no-progress-bar", verbosity=0
        )
    assert Document.global_objects.count() == 0
