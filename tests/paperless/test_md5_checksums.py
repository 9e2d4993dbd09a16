"""Archives whose database records md5 checksums (paperless-ngx 2.x, and the files a 3.x
migration could not read again): copies are checked against the md5, as against a sha256."""

from __future__ import annotations

import hashlib
import json

from tests.paperless.twin import twin_site

# Gives two documents with an archived version md5 checksums: the first its files' own, the
# second an md5 its original does not have (bit rot since the checksum was recorded).
SET_MD5 = """
import hashlib
from pathlib import Path
from django.conf import settings
from documents.models import Document
documents = Document.global_objects.filter(
    archive_filename__isnull=False, filename__isnull=False
).exclude(filename="").exclude(archive_filename="").order_by("pk")
good, bad = documents[:2]
for doc in (good, bad):
    original = (Path(settings.ORIGINALS_DIR) / doc.filename).read_bytes()
    archive = (Path(settings.ARCHIVE_DIR) / doc.archive_filename).read_bytes()
    doc.checksum = hashlib.md5(original).hexdigest()
    doc.archive_checksum = hashlib.md5(archive).hexdigest()
bad.checksum = hashlib.md5(b"what the original held once").hexdigest()
Document.global_objects.bulk_update([good, bad], ["checksum", "archive_checksum"])
print(good.pk, bad.pk)
"""


def test_md5_checksums_verify_copies(migrated, tmp_path):
    with twin_site(tmp_path / "site", migrated) as twin:
        changed = twin.manage("shell", "--no-imports", "-c", SET_MD5)
        assert changed.returncode == 0, changed.stderr
        good, bad = map(int, changed.stdout.split())
        target = tmp_path / "export"
        target.mkdir()
        done = twin.manage("streaming_exporter", str(target), "--stream", "--no-progress-bar")
        output = done.stdout + done.stderr
        assert done.returncode == 3, output
        assert "Traceback" not in output
        # The damaged original is the one problem, named with its algorithm.
        assert output.count("Problem:") == 1, output
        assert f"Document {bad} " in output or f"document {bad}" in output.lower(), output
        assert "its md5 is" in output, output
        records = {
            r["pk"]: r
            for r in json.loads((target / "manifest.json").read_bytes())
            if r["model"] == "documents.document"
        }
        good_record = records[good]
        original = (target / good_record["__exported_file_name__"]).read_bytes()
        assert hashlib.md5(original).hexdigest() == good_record["fields"]["checksum"]
        # verify_export checks the md5 too: every file but the recorded problem is good.
        verified = twin.manage("verify_export", str(target))
        assert verified.returncode == 3, verified.stdout + verified.stderr
        assert "has md5" not in verified.stdout + verified.stderr
