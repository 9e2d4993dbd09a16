"""Removing stale files (exporter.sinks.sweep) never follows a link out of the target."""

import os

from hypothesis import given, settings
from hypothesis import strategies as st


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


# The kept table: the same removals as asking about every file, with the kept ones answered
# "keep"; condemn hears of the others only, whatever the batch size.

_NAMES = st.sampled_from(["a", "b", "c", "é", "a b", ".x.0f.tmp", "-manifest.json"])


@st.composite
def _trees(draw):
    """Relative paths of files (and a few links) under at most two levels of directories."""
    files = draw(st.sets(st.lists(_NAMES, min_size=1, max_size=3).map("/".join), max_size=30))
    # A file and a directory of one name cannot both exist: keep the shorter.
    chosen: set[str] = set()
    for path in sorted(files, key=len):
        parents = {"/".join(path.split("/")[:depth]) for depth in range(1, path.count("/") + 1)}
        if not parents & chosen and not any(other.startswith(path + "/") for other in chosen):
            chosen.add(path)
    links = draw(st.sets(st.sampled_from(sorted(chosen)), max_size=3)) if chosen else set()
    return sorted(chosen), links


def _build(root, files, links):
    for relpath in files:
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        if relpath in links:
            path.symlink_to("/nonexistent")
        else:
            path.write_bytes(b"x")


def _remaining(root):
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if not path.is_dir() or path.is_symlink()
    )


@settings(max_examples=150, deadline=None)
@given(tree=_trees(), data=st.data(), batch=st.sampled_from([1, 2, 1000]))
def test_the_kept_table_removes_what_asking_about_every_file_removes(tree, data, batch):
    import sqlite3
    import tempfile
    from pathlib import Path

    from exporter.sinks import sweep

    files, links = tree
    kept = data.draw(st.sets(st.sampled_from(files)) if files else st.just(set()))
    doomed = data.draw(st.sets(st.sampled_from(files)) if files else st.just(set()))
    outcomes = []
    for use_table in (False, True):
        asked: list[tuple[str, bool]] = []

        def condemn(relpath, is_link, use_table=use_table, asked=asked):
            asked.append((relpath, is_link))
            if not use_table and relpath in kept:
                return None
            return ("temp" if relpath.endswith(".tmp") else "stale") if relpath in doomed else None

        with tempfile.TemporaryDirectory() as directory:
            root = Path(directory)
            _build(root, files, links)
            db = sqlite3.connect("", isolation_level=None)
            db.execute("CREATE TABLE names (relpath TEXT PRIMARY KEY)")
            db.executemany("INSERT INTO names VALUES (?)", [(name,) for name in kept])
            old_batch = sweep._LOOKUP_BATCH
            sweep._LOOKUP_BATCH = batch
            try:
                counts = sweep.sweep_tree(
                    root, condemn, db, prune="emptied", kept="names" if use_table else None
                )
            finally:
                sweep._LOOKUP_BATCH = old_batch
            outcomes.append((dict(counts), _remaining(root)))
        if use_table:
            assert sorted(relpath for relpath, _ in asked) == sorted(set(files) - kept)
            assert all(is_link == (relpath in links) for relpath, is_link in asked)
    assert outcomes[0] == outcomes[1]


def test_a_name_that_is_not_valid_unicode_stays_and_is_reported(tmp_path):
    import sqlite3

    from exporter.sinks.sweep import sweep_tree

    root = os.fsencode(tmp_path)
    os.mkdir(os.path.join(root, b"dir\xfe"))
    for name in (b"kept", b"gone", b"bad\xff", b"dir\xfe/inner"):
        with open(os.path.join(root, name), "wb"):
            pass
    db = sqlite3.connect("", isolation_level=None)
    db.execute("CREATE TABLE names (relpath TEXT PRIMARY KEY)")
    db.execute("INSERT INTO names VALUES ('kept')")
    asked, reported = [], []

    def condemn(relpath, is_link):
        asked.append(relpath)
        return None if relpath == "kept" else "stale"

    for kept in ("names", None):
        asked.clear(), reported.clear()
        counts = sweep_tree(
            tmp_path, condemn, db, prune="all", kept=kept, undecodable=reported.append
        )
        assert sorted(os.listdir(root)) == [b"bad\xff", b"dir\xfe", b"kept"]
        assert sorted(reported) == [os.fsdecode(b"bad\xff"), os.fsdecode(b"dir\xfe/inner")]
        # The first pass removes "gone"; the undecodable name sends its batch of lookups back
        # to one question per file, "kept" too.
        assert sorted(asked) == (["gone", "kept"] if kept else ["kept"])
        assert counts["dirs"] == 0
