"""
The commit journal of directory exports: a kill at any rename of a commit, then roll forward.

The kills are real: a subprocess runs the directory sink and SIGKILLs itself at the chosen rename,
so no ``finally`` block or clean-up runs, as on a power cut or an OOM kill.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from exporter.export.naming import sanitize_component
from exporter.format import is_tool_file
from exporter.sinks import DirectorySink
from exporter.sinks.file_list import FILE_LIST_NAME
from exporter.sinks.files import is_temp_name, validate_relpath
from exporter.sinks.journal import (
    JOURNAL_NAME,
    JournalError,
    RollForward,
    roll_forward,
    write_journal,
)
from tests.helpers.files import OLD_NS, export_spec, make
from tests.helpers.processes import ROOT

# Runs one export described by a JSON spec into TARGET, and SIGKILLs itself once KILL_AFTER
# renames are done: before the next rename, or before the journal is removed.
KILLER = """
import json, os, signal, sys
from exporter.sinks.journal import JOURNAL_NAME
from tests.helpers.files import export_spec

target, spec_path, kill_after = sys.argv[1], sys.argv[2], int(sys.argv[3])
spec = json.loads(open(spec_path).read())
real_replace, real_unlink = os.replace, os.unlink
renames = 0

def replace(src, dst):
    global renames
    if renames == kill_after:
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(src, dst)
    renames += 1

def unlink(path, *args, **kwargs):
    if os.path.basename(path) == JOURNAL_NAME and renames == kill_after:
        os.kill(os.getpid(), signal.SIGKILL)
    real_unlink(path, *args, **kwargs)

os.replace, os.unlink = replace, unlink
export_spec(target, spec)
print(renames)
"""


def contents(root: Path) -> dict[str, bytes]:
    """Every file under root (temporary ones and the journal included), by relative path."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def without_temps(state: dict[str, bytes]) -> dict[str, bytes]:
    return {k: v for k, v in state.items() if not is_temp_name(k.rpartition("/")[2])}


def export_data(state: dict[str, bytes]) -> dict[str, bytes]:
    """What readers see of an export: no temporary files, none of the tool's own files."""
    return {k: v for k, v in without_temps(state).items() if not is_tool_file(k)}


def killed_export(target: Path, spec_path: Path, kill_after: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", KILLER, str(target), str(spec_path), str(kill_after)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def scenario(tmp_path):
    """A previous export, the spec of the next one, and that next export made undisturbed."""
    media = tmp_path / "media"
    first = {
        "json": {
            "json/0001-manifest.json": '[{"split": 1}]',
            "json/0002-manifest.json": '[{"split": 2}]',
            "manifest.json": '[{"pk": 1}, {"pk": 2}]',
        },
        "files": {
            "originals/0001.pdf": str(make(media / "1.pdf", os.urandom(70_000))),
            "originals/0002.pdf": str(make(media / "2.pdf", b"two" * 1000)),
            "thumbnails/0001.webp": str(make(media / "1.webp", b"RIFF" * 100)),
        },
    }
    previous = tmp_path / "previous"
    previous.mkdir()
    export_spec(previous, first)
    # Between the runs: 0002.pdf changes in place (same name, new bytes), a document is
    # retitled (a new name; the old one goes with delete_stale), one is added in new folders,
    # and the split manifest 0002 is not written again (it must go: it would repeat records).
    make(media / "2.pdf", b"TWO, changed in place" * 1000, OLD_NS + 5)
    second = {
        "json": {
            "json/0001-manifest.json": '[{"split": 2}]',
            "json/0003-manifest.json": '[{"split": 3}]',
            "manifest.json": '[{"pk": 1}, {"pk": 3}]',
        },
        "files": {
            "originals/0001 retitled.pdf": first["files"]["originals/0001.pdf"],
            "originals/0002.pdf": first["files"]["originals/0002.pdf"],
            "thumbnails/0001.webp": first["files"]["thumbnails/0001.webp"],
            "new/deep/0003.pdf": str(make(media / "3.pdf", b"three" * 999)),
        },
    }
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(second))
    reference = tmp_path / "reference"
    shutil.copytree(previous, reference, symlinks=True)
    export_spec(reference, second)
    return previous, second, spec_path, contents(reference)


def fresh_target(tmp_path: Path, previous: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(previous, target, symlinks=True)
    return target


def test_a_kill_at_every_rename_of_the_commit_rolls_forward(tmp_path, scenario):
    previous, second, spec_path, expected = scenario
    old = contents(previous)
    # The journal's rename, then one per staged file: 3 document files (0001.webp unchanged
    # is skipped, 0001.pdf is copied under its new name), 3 JSON files and the file list.
    renames = 1 + 3 + 3 + 1
    # What a roll forward leaves: the new export, and the stale files only delete_stale removes
    # (a roll forward removes stale split manifests, not those); the next run removes them.
    rolled = expected | {"originals/0001.pdf": old["originals/0001.pdf"]}
    finished = killed_export(fresh_target(tmp_path, previous, "unkilled"), spec_path, -1)
    # After the sweep, the exact file list replaces the one of the commit: one more rename.
    assert finished.returncode == 0 and int(finished.stdout) == renames + 1, finished.stderr
    mixed = 0
    for k in range(renames + 2):
        target = fresh_target(tmp_path, previous, f"target-{k}")
        process = killed_export(target, spec_path, k)
        assert process.returncode == -signal.SIGKILL, (k, process.stderr)
        state = contents(target)
        staged_left = [name for name in state if is_temp_name(name.rpartition("/")[2])]
        if k == 0:
            # Killed before the journal was in place: the commit never began.
            assert JOURNAL_NAME not in state
            assert export_data(state) == export_data(old)
            assert roll_forward(target) is None
            assert export_data(contents(target)) == export_data(old)
            export_spec(target, second)
            assert contents(target) == expected
            continue
        assert JOURNAL_NAME in state, k
        # At k == renames: killed after the sweep, with the exact file list still staged.
        assert len(staged_left) == (renames - k if k < renames else renames + 1 - k)
        visible = export_data(state)
        if visible not in (export_data(old), export_data(rolled)):
            mixed += 1
        done = roll_forward(target)
        # Killed once the renames were done, the run had swept: only its journal was left.
        removed = 1 if k < renames else 0
        assert done == RollForward(
            entries=renames - 1 + 1, renamed=max(renames - k, 0), removed=removed
        )
        # The export the undisturbed run wrote, no journal; only the file list may differ.
        assert export_data(contents(target)) == export_data(expected if k >= renames else rolled)
        export_spec(target, second)
        assert contents(target) == expected, k
    # Most kill points really left a mix of the old export and the new one behind.
    assert mixed >= renames - 3


def test_the_next_run_completes_the_commit_first(tmp_path, scenario):
    previous, second, spec_path, expected = scenario
    target = fresh_target(tmp_path, previous, "target")
    assert killed_export(target, spec_path, 3).returncode == -signal.SIGKILL
    journal = (target / JOURNAL_NAME).read_text().splitlines()
    records = [json.loads(line) for line in journal[1:-1]]
    finals = [record[2] for record in records if record[0] == "rename"]
    # Document files first, split manifests next, manifest.json and the file list last; then
    # the split manifest of the previous export that the new one no longer has.
    assert finals[-4:] == [
        "json/0001-manifest.json",
        "json/0003-manifest.json",
        "manifest.json",
        FILE_LIST_NAME,
    ]
    assert all(not name.endswith(".json") for name in finals[:-4])
    assert records[len(finals) :] == [["remove", "json/0002-manifest.json"]]
    sink = DirectorySink(target, delete_stale=True)
    assert sink.completed_commit == RollForward(entries=8, renamed=5, removed=1)
    rolled = export_data(contents(target))
    assert rolled == export_data(expected) | {"originals/0001.pdf": rolled["originals/0001.pdf"]}
    sink.abort()  # an aborted run does not undo what it completed
    assert export_data(contents(target)) == rolled
    # A run without an interrupted commit before it completes nothing.
    with DirectorySink(target) as sink:
        assert sink.completed_commit is None


def full_journal(target: Path, entries: list[tuple[str, str]]) -> bytes:
    write_journal(target, iter(entries))
    return (target / JOURNAL_NAME).read_bytes()


def test_a_torn_journal_is_ignored_and_removed(tmp_path):
    target = tmp_path / "target"
    (target / "sub").mkdir(parents=True)
    temps = {
        "sub/.a.pdf.0123456789ab.tmp": "sub/a.pdf",
        ".manifest.json.0123456789ab.tmp": "manifest.json",
    }
    for temp in temps:
        (target / temp).write_bytes(b"staged " + temp.encode())
    data = full_journal(target, list(temps.items()))
    before = contents(target)
    del before[JOURNAL_NAME]
    # Every strict prefix of a journal, the cut anywhere, even inside the end line.
    for size in range(len(data)):
        (target / JOURNAL_NAME).write_bytes(data[:size])
        assert roll_forward(target) == RollForward(entries=0, renamed=0, torn=True), size
        assert contents(target) == before, size  # nothing renamed; the journal is gone
    # The whole journal is not torn.
    (target / JOURNAL_NAME).write_bytes(data)
    assert roll_forward(target) == RollForward(entries=2, renamed=2)
    assert contents(target) == {
        "sub/a.pdf": b"staged sub/.a.pdf.0123456789ab.tmp",
        "manifest.json": b"staged .manifest.json.0123456789ab.tmp",
    }


def test_a_damaged_journal_is_refused_and_kept(tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    (target / ".a.pdf.0123456789ab.tmp").write_bytes(b"staged")
    data = full_journal(target, [(".a.pdf.0123456789ab.tmp", "a.pdf")])
    (target / JOURNAL_NAME).write_bytes(data.replace(b"a.pdf", b"b.pdf", 1))
    with pytest.raises(JournalError, match="is damaged"):
        roll_forward(target)
    assert sorted(contents(target)) == [".a.pdf.0123456789ab.tmp", JOURNAL_NAME]
    (target / JOURNAL_NAME).write_bytes(b"not a journal\n" + data.split(b"\n", 1)[1])
    with pytest.raises(JournalError, match="does not start with"):
        roll_forward(target)


HOSTILE = {
    "parent": ("../.x.0123456789ab.tmp", "../x", "'..' component"),
    "absolute": ("{outside}/.x.0123456789ab.tmp", "{outside}/x", "is absolute"),
    "absolute temp": ("{outside}/.x.0123456789ab.tmp", "x", "not a temporary file next to"),
    "root temp": ("/.x.0123456789ab.tmp", "x", "not a temporary file next to"),
    "link": ("link/.x.0123456789ab.tmp", "link/x", "leads outside the export"),
    "not a temp": ("manifest.json", "x", "not a temporary file next to"),
    "the journal": (".x.0123456789ab.tmp", JOURNAL_NAME, "the journal itself"),
}


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_a_journal_naming_paths_outside_the_target_is_refused(tmp_path, case):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / ".x.0123456789ab.tmp").write_bytes(b"outside")
    target = tmp_path / "target"
    target.mkdir()
    (target / "link").symlink_to(outside, target_is_directory=True)
    (target / ".x.0123456789ab.tmp").write_bytes(b"inside")
    (target / ".ok.pdf.0123456789ab.tmp").write_bytes(b"a legitimate entry")
    temp, final, reason = (part.format(outside=outside) for part in HOSTILE[case])
    # A consistent journal (right count and digest): only its paths are wrong.
    write_journal(target, iter([(".ok.pdf.0123456789ab.tmp", "ok.pdf"), (temp, final)]))
    before_outside = contents(tmp_path / "outside")
    before = contents(target)
    with pytest.raises(JournalError, match=reason) as raised:
        roll_forward(target)
    assert "line 3" in str(raised.value) and "nothing was renamed" in str(raised.value)
    assert contents(outside) == before_outside and not (tmp_path / "x").exists()
    assert contents(target) == before  # not even the legitimate entry; the journal stays
    # The exporter refuses to start on it, and does not keep the target locked.
    for _ in range(2):
        with pytest.raises(JournalError):
            DirectorySink(target)


def test_the_journal_name_is_never_an_export_name(tmp_path):
    assert not is_temp_name(JOURNAL_NAME)
    validate_relpath(JOURNAL_NAME)  # a valid path, so the sink refuses it by name
    assert not sanitize_component(JOURNAL_NAME).startswith(".")  # exporter names never do
    target = tmp_path / "target"
    target.mkdir()
    source = make(tmp_path / "a.pdf", b"a")
    with DirectorySink(target) as sink:
        with pytest.raises(ValueError, match="reserved for the tool's own files"):
            sink.open_json(JOURNAL_NAME)
        with pytest.raises(ValueError, match="reserved for the tool's own files"):
            sink.add_file(JOURNAL_NAME, source)
        sink.add_file(f"sub/{JOURNAL_NAME}", source)  # only the top-level name is the journal
    assert sorted(export_data(contents(target))) == [f"sub/{JOURNAL_NAME}"]


def test_a_run_with_nothing_to_rename_writes_no_journal(tmp_path, monkeypatch):
    from exporter.sinks import directory

    target = tmp_path / "target"
    target.mkdir()
    source = make(tmp_path / "a.pdf", b"a")
    written = []
    real = directory.write_journal
    monkeypatch.setattr(directory, "write_journal", lambda *a, **k: written.append(real(*a, **k)))
    for _ in range(2):
        with DirectorySink(target) as sink:
            sink.add_file("a.pdf", source)
    # The file and the file list; the second run skipped the unchanged file: nothing to commit.
    assert written == [2]
    assert sorted(export_data(contents(target))) == ["a.pdf"]
