"""Removing stale files (exporter.sinks.sweep) never follows a link out of the target."""

import os


def test_sweep_never_enters_a_directory_swapped_for_a_link(tmp_path):
    from exporter.sinks.sweep import _open_subdirectory

    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    fd = os.open(root, os.O_RDONLY)
    try:
        with os.scandir(fd) as entries:
            (entry,) = list(entries)
        assert entry.is_dir(follow_symlinks=False)
        # Swapped between the listing and the open, as an attacker could.
        (root / "sub").rmdir()
        (root / "sub").symlink_to(outside, target_is_directory=True)
        assert _open_subdirectory(fd, entry) is None
    finally:
        os.close(fd)
