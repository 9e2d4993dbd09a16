"""The examples of docs/library.md, run as they stand on the page against a generated archive.

Both halves of it go through the command's one write path (records in batches, the stream
writer, the sink), and both must give the classic encoder's bytes.
"""

import json
import re
from pathlib import Path

import pytest
from django.core import serializers

from documents.generator import generate_archive
from documents.models import Document
from exporter.writing.encoding import classic_dumps

pytestmark = pytest.mark.django_db

LIBRARY_PAGE = Path(__file__).resolve().parents[2] / "docs" / "library.md"


@pytest.fixture
def generated(media, tmp_path, monkeypatch):
    """40 generated documents without files; the example's relative paths land in tmp_path."""
    generate_archive(documents=40, seed=4, with_files=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def page_examples() -> list[str]:
    """The Python examples of docs/library.md, in order."""
    return re.findall(r"^```python\n(.*?)^```$", LIBRARY_PAGE.read_text(), flags=re.M | re.S)


def run_example(index: int) -> None:
    exec(compile(page_examples()[index], f"docs/library.md example {index + 1}", "exec"), {})


def example_manifest_of_one_queryset():
    run_example(0)


def example_whole_export():
    run_example(1)


def test_the_page_has_both_examples():
    examples = page_examples()
    assert len(examples) == 2
    assert "ManifestStreamWriter" in examples[0] and "StreamingExporter" in examples[1]


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
