"""kill -9 at chosen moments of real exporter and importer processes.

Each point changes the archive (titles, so files get new names; contents; one document's file
content and checksum, so a file changes in place), then runs ``document_exporter --stream`` in a
subprocess that freezes itself (SIGSTOP) at a chosen event of one phase (see
``tests/helpers/stop_point.py``): the n-th write into the manifest, into a document file's
copy, into a split manifest, into the zip, or the n-th rename of the commit. The test then sends
SIGKILL, and checks that

* ``verify_export`` passes on the target, whose manifest is the previous export's or, for a kill
  once the commit began, the new one; the temporary files the kill left are not counted;
* the next run completes, leaves no ``*.tmp`` anywhere, and writes the new export.

A few more points are plain kills from outside: once the run's first temporary file appears,
after a seeded random delay, with the phase read from the temporary files present at the
moment of the kill. The n of each point is drawn from a seeded
random generator; ``KILL_POINTS=N`` raises the number of points (default 23 hooked + 3 timed).

A kill inside the commit, between the rename of a document file that changed in place (same
name, new bytes) and the rename of the manifest, leaves the new file under the old manifest; the
commit journal lets ``verify_export`` complete the commit first (it says so in a warning), so it
passes there too, on the new export.
"""

from __future__ import annotations

import os
import random
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import call_command

from documents.models import Document
from tests.helpers.archives import database_state, wipe
from tests.helpers.exports import export, verify_outcome
from tests.helpers.processes import command_environment, temp_files
from tests.helpers.stop_points import kill, spawn, spawn_export, wait_stopped

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_database]

SEED = 20240607
DOCUMENTS = 30
#: Retitled per round: each gives 2-3 new file names, so a run copies at least 16 files.
RETITLED = 8


@dataclass
class Phase:
    """How to run the export of a phase, and the range the event number is drawn from."""

    args: tuple[str, ...]
    kind: str
    first: int
    last: int
    points: int


PHASES: dict[str, Phase] = {
    # --batch-size 5: one write per batch, so a manifest takes about 90 writes.
    "manifest": Phase(("--batch-size", "5"), "manifest", 1, 60, 5),
    # At least RETITLED * 2 files are copied by every run.
    "file copies": Phase((), "file", 1, 2 * RETITLED, 5),
    # No -d: the retitled documents' old split manifests must go all the same.
    "split manifests": Phase(("-sm", "--batch-size", "5"), "split", 1, DOCUMENTS, 5),
    # Several writes per entry (header, data, descriptor): well over 300 per archive.
    "zip": Phase(("-z", "-zn", "backup"), "zip", 1, 300, 5),
    # The renames of the commit: the journal's, the changed files (at least 16), then the JSON.
    "commit": Phase((), "replace", 1, 2 * RETITLED + 2, 3),
}
TIMED_POINTS = 3


def point_plan() -> list[tuple[str, int]]:
    """(phase, n) of every hooked point, drawn from the seed; KILL_POINTS raises the count."""
    wanted = int(os.environ.get("KILL_POINTS", "0"))
    default_total = sum(p.points for p in PHASES.values())
    scale = max(1.0, wanted / default_total) if wanted else 1.0
    rng = random.Random(SEED)
    plan = []
    for name, phase in PHASES.items():
        count = round(phase.points * scale)
        population = range(phase.first, phase.last + 1)
        picks = rng.sample(population, min(count, len(population)))
        plan.extend((name, n) for n in sorted(picks))
    return plan


ARCHIVE = {"documents": DOCUMENTS, "seed": SEED % 1000}


def mutate(round_: int, rng: random.Random) -> None:
    """Change the archive as users do between two exports."""
    documents = list(Document.global_objects.order_by("pk"))
    for document in rng.sample(documents, RETITLED):
        document.title = f"R{round_} {document.title}"[:128]
        document.save()
    for document in rng.sample(documents, 3):
        document.content += f"\nEdited in round {round_}."
        document.save()
    # One file changes in place: same name, new bytes and checksum.
    document = rng.choice(documents)
    data = document.source_path.read_bytes() + f"round {round_}\n".encode()
    document.source_path.write_bytes(data)
    import hashlib

    document.checksum = hashlib.sha256(data).hexdigest()
    document.save()


def manifests_of(root: Path) -> dict[str, bytes]:
    """Every manifest of a directory export (not temporary files), by relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*manifest.json")
        if p.is_file()
    }


def zip_members(path: Path) -> dict[str, bytes]:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def phase_of_temps(temps: list[Path]) -> str:
    """The phase a timed kill landed in, from the temporary files present."""
    names = [p.name for p in temps]
    if not names:
        return "outside writes (start-up or after the commit)"
    if any(n.startswith(".manifest.json.") for n in names):
        return "manifest (with file copies)" if len(names) > 1 else "manifest"
    return "file copies"


def check_after_kill(
    target: Path,
    old: dict[str, bytes],
    new: dict[str, bytes],
    label: str,
    *,
    committing: bool | None,
) -> str:
    """The target verifies, and its manifests are all the old export's or all the new one's.

    ``committing``: whether the kill came inside the commit, after the journal was in place, so
    that verify completes the commit and the manifests are the new ones; None if unknown.
    """
    ok, out, err = verify_outcome(target)
    current = manifests_of(target)
    assert ok, (label, err)
    assert ".tmp" not in out + err, (label, err)
    manifests_counted = int(out.split(": ", 1)[1].split(" manifests")[0])
    assert manifests_counted == len(current), (label, out)
    completed = "half-way through its commit" in err
    if committing is not None:
        assert completed == committing, (label, err)
        assert current == (new if committing else old), label
    else:
        assert current in (old, new) and (current == new or not completed), label
    return "verified (interrupted commit completed)" if completed else "verified"


def test_kill_9_at_chosen_moments_of_the_export(archive, tmp_path):
    data_dir = archive.parent
    targets = {
        "plain": tmp_path / "target",
        "split": tmp_path / "target-sm",
        "zip": tmp_path / "target-zip",
    }
    for target in targets.values():
        target.mkdir()
    export(targets["plain"])
    export(targets["split"], "-sm")
    export(targets["zip"], "-z", "-zn", "backup")
    for target in targets.values():
        assert verify_outcome(target if target.name != "target-zip" else target / "backup.zip")[0]

    # How long a whole run takes, start-up included: the timed kills land inside it.
    started = time.monotonic()
    full = spawn_export(targets["plain"], ("--stream", "--batch-size", "1"), data_dir)
    assert full.wait(timeout=120) == 0, full.stderr.read()
    full.stderr.close()
    duration = time.monotonic() - started

    rng = random.Random(SEED)
    log: list[str] = []
    temps_seen = 0
    plan = [*point_plan(), *[("timed", i) for i in range(TIMED_POINTS)]]
    for round_, (phase_name, n) in enumerate(plan, start=1):
        mutate(round_, rng)
        if phase_name == "timed":
            phase = Phase(("--batch-size", "1"), "", 0, 0, 0)
            key = "plain"
        else:
            phase = PHASES[phase_name]
            key = {"split manifests": "split", "zip": "zip"}.get(phase_name, "plain")
        target = targets[key]
        reference = tmp_path / f"reference-{round_}"
        reference.mkdir()
        export(reference, *phase.args)
        zipped = key == "zip"
        before = zip_members(target / "backup.zip") if zipped else manifests_of(target)
        before_zip = (target / "backup.zip").read_bytes() if zipped else None
        expected = zip_members(reference / "backup.zip") if zipped else manifests_of(reference)

        if phase_name == "timed":
            # Watch the target: once the run's first temporary file shows, wait a seeded
            # random part of the run's duration, freeze, look, kill.
            process = spawn_export(target, ("--stream", *phase.args), data_dir)
            deadline = time.monotonic() + 60
            while not temp_files(target, pattern="*.tmp") and process.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.002)
            time.sleep(rng.uniform(0.0, 0.3) * duration)
            if process.poll() is None:
                process.send_signal(signal.SIGSTOP)
                time.sleep(0.05)
            landed = phase_of_temps(temp_files(target, pattern="*.tmp"))
            if process.poll() is None:
                kill(process)
            else:
                landed = "after the run ended"
        else:
            process = spawn_export(target, ("--stream", *phase.args), data_dir, f"{phase.kind}:{n}")
            stopped = wait_stopped(process)
            assert stopped, f"{phase_name} point {n} was never reached: {process.stderr.read()}"
            err = kill(process)
            assert f"STOPPED {phase.kind}:{n}" in err, err
            landed = phase_name
        temps = temp_files(target, pattern="*.tmp")
        temps_seen += bool(temps)

        if zipped:
            # The archive is replaced by one rename: before it, the old one is untouched.
            assert (target / "backup.zip").read_bytes() == before_zip, (phase_name, n)
            ok, out, err = verify_outcome(target / "backup.zip")
            assert ok, err
            outcome = "verified (previous zip)"
        else:
            outcome = check_after_kill(
                target,
                before,
                expected,
                f"{phase_name} {n}",
                committing=None if phase_name == "timed" else phase_name == "commit",
            )

        # The next run completes and leaves nothing behind.
        export(target, *phase.args)
        assert temp_files(target, pattern="*.tmp") == [], (phase_name, n)
        if zipped:
            assert zip_members(target / "backup.zip") == expected
            assert verify_outcome(target / "backup.zip")[0]
        else:
            assert manifests_of(target) == expected, (phase_name, n)
            ok, _, err = verify_outcome(target)
            assert ok, err
        log.append(f"{phase_name} n={n}: landed in {landed}, {len(temps)} temp files; {outcome}")

    print("\n".join(log))
    hooked = sum(1 for name, _ in plan if name != "timed")
    assert hooked >= 20
    # The kills really left temporary files behind for the next run (and verify) to deal with.
    assert temps_seen >= hooked // 2


def test_kill_9_during_the_import_leaves_the_database_unchanged(archive, tmp_path):
    target = tmp_path / "export"
    target.mkdir()
    export(target)
    wipe(archive)
    before = database_state()
    data_dir = archive.parent
    env = command_environment(data_dir)
    # bulk_create calls: a few per model; the 2nd is early, the 25th near the end of the load.
    for n in (2, 12, 25):
        manage_args = ["document_importer", str(target), "--no-progress-bar", "--batch-size", "7"]
        process = spawn(manage_args, env, f"bulk:{n}")
        reached = wait_stopped(process)
        assert reached, f"bulk point {n} never reached: {process.stderr.read()}"
        assert f"STOPPED bulk:{n}" in kill(process)
        assert database_state() == before, n
        assert not [p for p in archive.rglob("*") if p.is_file() and p.name != "media.lock"]
    # The killed loads left no lock or half-transaction behind: a real import goes through.
    call_command("document_importer", str(target), "--no-progress-bar", verbosity=0)
    assert Document.global_objects.count() == DOCUMENTS
    ok, _, err = verify_outcome(target)
    assert ok, err


def test_a_re_export_with_split_manifests_drops_the_old_ones_without_delete(archive, tmp_path):
    """A retitled document's old split manifest would repeat its records: verify and import
    read every *-manifest.json. The run removes it, even without -d (and only it)."""
    target = tmp_path / "export"
    target.mkdir()
    export(target, "-sm")
    (target / "notes-manifest.txt").write_text("not a manifest, stays")
    document = Document.global_objects.order_by("pk").first()
    old = {p.name for p in target.glob("*-manifest.json")}
    document.title = "A new title"
    document.save()
    export(target, "-sm")
    new = {p.name for p in target.glob("*-manifest.json")}
    assert len(old - new) == 1 and len(new - old) == 1
    assert (target / "notes-manifest.txt").exists()
    ok, _, err = verify_outcome(target)
    assert ok, err
    # The old document files stay (no -d); the manifests name the new ones.
    assert len(list(target.glob("*.pdf"))) > DOCUMENTS
