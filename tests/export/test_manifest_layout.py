"""document_exporter --manifest-layout on the reference archive: the same records, framed as
asked, by both exporters; the reference archive's default stays classic."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError

from tests.helpers.exports import export
from tests.writing.test_layouts import flat_oracle

pytestmark = pytest.mark.django_db

ARCHIVE = {"documents": 12, "seed": 5}


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "classic"])
def test_flat_layout_frames_the_classic_records(archive, tmp_path, stream):
    default, flat = tmp_path / "default", tmp_path / "flat"
    default.mkdir()
    flat.mkdir()
    export(default, "--data-only", stream=stream)
    export(flat, "--data-only", "--manifest-layout", "flat", stream=stream)
    classic_bytes = (default / "manifest.json").read_bytes()
    assert classic_bytes.startswith(b"[\n  {")
    manifest = json.loads(classic_bytes)
    assert (flat / "manifest.json").read_bytes() == flat_oracle(manifest)


def test_split_manifests_stay_classic(archive, target):
    export(target, "-sm", "--data-only", "--manifest-layout", "flat", stream=True)
    split = sorted(target.glob("*-manifest.json"))
    assert split
    for path in split:
        assert path.read_bytes().startswith(b"[\n  {")
    assert (target / "manifest.json").read_bytes().startswith(b"[{")


def test_unknown_layout_is_refused(archive, target):
    with pytest.raises(CommandError, match="invalid choice: 'nested'"):
        export(target, "--manifest-layout", "nested", stream=True)
