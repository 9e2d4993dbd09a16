"""The worst days: a full disk, and secrets that must never reach the export in plain text."""

from __future__ import annotations

import stat
import subprocess

import pytest
from django.core.management import CommandError

from documents.models import MailAccount
from exporter.format import is_tool_file
from tests.helpers.exports import export, read_tree

pytestmark = [pytest.mark.django_db, pytest.mark.one_database]

ARCHIVE = {"documents": 40, "seed": 8}


@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MiB file system (tmpfs), so writes fail with ENOSPC as on a full disk."""
    mountpoint = tmp_path / "small-disk"
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", str(mountpoint)], check=True)


def test_a_full_disk_is_a_clear_error_and_keeps_the_previous_export(archive, small_disk):
    export(small_disk, "--data-only")
    before = read_tree(small_disk, None)
    with pytest.raises(CommandError, match="No space left on device while writing"):
        export(small_disk)
    assert read_tree(small_disk, None) == before
    assert not list(small_disk.rglob("*.tmp"))


def test_a_full_disk_while_zipping_keeps_the_previous_zip(archive, small_disk):
    export(small_disk, "--data-only", "-z", "-zn", "backup")
    before = (small_disk / "backup.zip").read_bytes()
    with pytest.raises(CommandError, match="No space left on device"):
        export(small_disk, "-z", "-zn", "backup")
    assert (small_disk / "backup.zip").read_bytes() == before
    assert sorted(p.name for p in small_disk.iterdir() if not is_tool_file(p.name)) == [
        "backup.zip"
    ]


def test_exported_files_are_no_more_readable_than_their_originals(archive, tmp_path):
    for path in archive.rglob("*"):
        if path.is_file():
            path.chmod(0o600)
    target = tmp_path / "export"
    target.mkdir()
    export(target)
    for path in target.rglob("*"):
        if path.is_file() and not path.name.endswith(".json"):
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


@pytest.mark.parametrize("zipped", [False, True])
def test_with_a_passphrase_no_secret_is_written_in_plain_text(archive, tmp_path, zipped):
    secrets = [
        value
        for account in MailAccount.objects.all()
        for value in (account.password, account.refresh_token)
        if value
    ]
    assert secrets
    target = tmp_path / "export"
    target.mkdir()
    export(target, "--passphrase", "a long passphrase", *(["-z"] if zipped else []))
    for path in target.rglob("*"):
        if path.is_file() and not is_tool_file(path.name):
            data = path.read_bytes()
            if zipped:
                import zipfile

                with zipfile.ZipFile(path) as archive_zip:
                    data = b"".join(archive_zip.read(n) for n in archive_zip.namelist())
            for secret in secrets:
                assert secret.encode() not in data, (path, secret)
