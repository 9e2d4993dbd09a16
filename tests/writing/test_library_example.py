"""The library example of the README, run as written against a generated archive.

Both halves of it go through the command's one write path (records in batches, the stream
writer, the sink), and both must give the classic encoder's bytes.
"""

import json
from pathlib import Path

import pytest
from django.core import serializers

from documents.generator import generate_archive
from documents.models import Document
from exporter.writing.encoding import classic_dumps

pytestmark = pytest.mark.django_db


@pytest.fixture
def generated(media, tmp_path, monkeypatch):
    """40 generated documents without files; the example's relative paths land in tmp_path."""
    generate_archive(documents=40, seed=4, with_files=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def example_manifest_of_one_queryset():
    # The README's example, verbatim from here to the end of the function.
    from documents.models import Document
    from exporter import ManifestStreamWriter, manifest_record_batches

    # Batches of records that encode to the bytes of django.core.serializers.serialize(
    # "python", ...), built from rows: one through-table query per batch, one streaming
    # cursor (server-side on PostgreSQL, unbuffered on MariaDB).
    batches = manifest_record_batches(Document.global_objects.order_by("pk"), batch_size=500)

    # Byte-identical to json.dumps(records, cls=DjangoJSONEncoder, indent=2,
    # ensure_ascii=False), sha256 computed on the way. The writer finishes the array when the
    # block ends normally, and leaves it unfinished when it raises.
    with open("manifest.json", "wb") as file, ManifestStreamWriter(file) as writer:
        for batch in batches:
            writer.write_many(batch)
    print(writer.records, writer.bytes_written, writer.hexdigest())


def example_whole_export():
    # The README's example, verbatim from here to the end of the function.
    from pathlib import Path

    from exporter import ExportOptions, StreamingExporter, load_plan

    # What `manage.py document_exporter backup --stream --data-only` runs: the plan named by
    # the EXPORTER_PLAN setting, and the command's options as fields of ExportOptions. The
    # target must exist; the export in it is replaced at once, or left as it was on failure.
    target = Path("backup")
    target.mkdir(exist_ok=True)
    options = ExportOptions(target=target, data_only=True)
    summary = StreamingExporter(load_plan(), options).run()
    print(sum(summary.records.values()), summary.bytes_written, summary.output)


def test_one_queryset_manifest_is_the_classic_encoders(generated, capsys):
    example_manifest_of_one_queryset()
    records = serializers.serialize("python", Document.global_objects.order_by("pk"))
    expected = classic_dumps(records)
    assert (generated / "manifest.json").read_bytes() == expected
    count, size, digest = capsys.readouterr().out.split()
    assert (int(count), int(size)) == (len(records), len(expected)) and len(records) == 40


def test_whole_export_is_the_classic_encoders(generated, capsys):
    from exporter import ClassicExporter, ExportOptions, load_plan

    example_whole_export()
    classic = generated / "classic"
    classic.mkdir()
    ClassicExporter(load_plan(), ExportOptions(target=classic, data_only=True)).run()
    streamed = (generated / "backup" / "manifest.json").read_bytes()
    assert streamed == (classic / "manifest.json").read_bytes()
    count, size, output = capsys.readouterr().out.split()
    assert int(count) == len(json.loads(streamed)) and int(size) == len(streamed)
    assert Path(output).resolve() == (generated / "backup").resolve()
