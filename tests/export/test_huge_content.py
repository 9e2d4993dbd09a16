"""Huge text fields: a document whose OCR ``content`` is 20 MB of mixed Unicode,
more than MariaDB's default 16 MB packet.

The exporters write it byte for byte alike (classic and ``--stream``), and it survives the round
trip (export, import into an empty database, export again: the same bytes).

MariaDB/MySQL refuse any statement, and any row sent back, longer than ``max_allowed_packet``
(16 MB by default on MariaDB 10.x): such a row can exist only on a server whose setting was
raised, and an import must insert it on one too. The importer therefore bounds each INSERT by
bytes as well as by rows (``exporter.readback.loader``), so a batch of 500 ordinary large rows never
exceeds the server's packet; and a single row that cannot fit stops the load before anything is
written, with a CommandError naming the record and how far to raise ``max_allowed_packet``.
On MariaDB these tests raise the server's global ``max_allowed_packet`` for as long as they
need it (new connections see it) and restore it afterwards.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.management import CommandError
from django.db import connection

from documents.generator import generate_archive
from documents.models import Document
from tests.helpers.archives import wipe
from tests.helpers.exports import export as export_into
from tests.helpers.exports import import_

pytestmark = pytest.mark.django_db(transaction=True)

MB = 1024 * 1024
#: UTF-8 bytes of the huge content.
HUGE = 20 * MB


def mixed_text(size: int, seed: int) -> str:
    """About ``size`` bytes of UTF-8: ASCII, 2-, 3- and 4-byte characters, what JSON escapes
    (quotes, backslashes, control characters, U+2028) and what MySQL escapes (quotes, NUL but on
    PostgreSQL, newlines, ^Z)."""
    rng = random.Random(seed)
    alphabet = [
        "Rechnung über 1.234,56 € – fällig; ",
        "Счёт № 42 оплатить. ",
        "請求書番号 七 月末まで。",
        "📄🧾✅🇩🇪 ",
        'a "quoted" C:\\path\\file ',
        "\t\n\r\x1a\x01\u2028\u2029 ",
        "\u200fفاتورة رقم\u200f ",
        "e\u0301 naïve coöperate ",
        "plain ascii words and numbers 0123456789 ",
    ]
    if connection.vendor != "postgresql":
        alphabet.append("\x00 ")  # PostgreSQL text cannot hold NUL
    # A block of ~64 kB, not a power of two, so multibyte characters straddle every chunk size.
    block = "".join(rng.choice(alphabet) for _ in range(2100))
    block_bytes = len(block.encode())
    text = block * (size // block_bytes) + "The end. Das Ende. 終わり。🏁"
    return text


@contextmanager
def mysql_max_allowed_packet(size: int | None) -> Iterator[int]:
    """On MariaDB/MySQL: the server's global max_allowed_packet set to ``size`` (None: as it
    is) for new connections, this test's included; restored on exit. Yields the value in force."""
    if connection.vendor != "mysql":
        yield 0
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@global.max_allowed_packet")
        [(original,)] = cursor.fetchall()
    try:
        set_global_packet(size or original)
        yield size or original
    finally:
        set_global_packet(original)


def set_global_packet(size: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SET GLOBAL max_allowed_packet = {int(size)}")
    # The session value is fixed when a connection opens: reconnect.
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@max_allowed_packet")
        assert cursor.fetchone()[0] == size


def export(target: Path, *args: str, stream: bool = True) -> bytes:
    """A data-only export into target; the manifest's bytes."""
    return (export_into(target, "--data-only", *args, stream=stream) / "manifest.json").read_bytes()


def test_a_20_mb_content_exports_alike_and_round_trips(media, tmp_path):
    generate_archive(documents=5, seed=50, with_files=False)
    content = mixed_text(HUGE, seed=1)
    size = len(content.encode())
    assert HUGE - 100_000 < size <= HUGE + 1000
    pk = Document.global_objects.order_by("pk").values_list("pk", flat=True)[2]
    with mysql_max_allowed_packet(None) as default_packet:
        # The row must first get in: on MariaDB that needs a packet larger than the row.
        raised = max(default_packet, 3 * HUGE // 2) if connection.vendor == "mysql" else 0
        with mysql_max_allowed_packet(raised or None):
            Document.global_objects.filter(pk=pk).update(content=content)
            del content
            stream = export(tmp_path / "stream", "--batch-size", "2")
            classic = export(tmp_path / "classic", stream=False)
            assert stream == classic
            assert len(stream) > size
            wipe(media)
        if connection.vendor == "mysql" and default_packet < size:
            # The server's own setting cannot take the row: a clear error, nothing loaded.
            with pytest.raises(CommandError) as failure:
                import_(tmp_path / "stream", "--data-only", verbosity=0)
            message = str(failure.value)
            assert f"documents.document pk={pk}" in message, message
            assert "max_allowed_packet" in message and "at least" in message, message
            assert "rolled back" in message, message
            assert Document.global_objects.count() == 0
        with mysql_max_allowed_packet(raised or None):
            import_(tmp_path / "stream", "--data-only", verbosity=0)
            assert export(tmp_path / "again") == stream


def test_batches_of_large_rows_stay_within_the_packet(media, tmp_path):
    """40 documents of ~0.6 MB content: 24 MB in one default batch of 500 rows, more than
    MariaDB's default 16 MB packet; the importer splits the INSERTs by bytes."""
    generate_archive(documents=40, seed=51, with_files=False)
    for index, pk in enumerate(Document.global_objects.order_by("pk").values_list("pk", flat=True)):
        Document.global_objects.filter(pk=pk).update(content=mixed_text(600_000, seed=index))
    with mysql_max_allowed_packet(16 * MB if connection.vendor == "mysql" else None):
        first = export(tmp_path / "first")
        assert len(first) > 24 * MB
        wipe(media)
        import_(tmp_path / "first", "--data-only", verbosity=0)
        assert export(tmp_path / "again") == first
