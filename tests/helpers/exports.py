"""Exports run in the test's own process, and what they wrote: exported, verified, imported, read.

The commands run through ``call_command`` on the test database; for the commands in a real
process see :mod:`tests.helpers.processes`.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from django.core.management import CommandError, call_command

from exporter.encryption import SecretCipher, decrypt_fields

#: The passphrase of the tests' encrypted exports.
PASSPHRASE = "correct horse battery staple"

#: Keys of a document record: the export names of its original and its thumbnail.
FILE = "__exported_file_name__"
THUMBNAIL = "__exported_thumbnail_name__"


def export(
    target: Path, *args: str, stream: bool = True, create: bool = True, verbosity: int = 0, **output
) -> Path:
    """``document_exporter TARGET *args`` (``--stream`` unless ``stream=False``); ``target``.

    The target is created first unless ``create=False``; ``output`` (``stdout``, ``stderr``)
    goes on to ``call_command``. A failure is the command's CommandError.
    """
    if create:
        target.mkdir(parents=True, exist_ok=True)
    call_command(
        "document_exporter",
        str(target),
        *(["--stream"] if stream else []),
        *args,
        "--no-progress-bar",
        verbosity=verbosity,
        **output,
    )
    return target


def verify(source: Path, *args: str) -> tuple[str, str]:
    """``verify_export SOURCE *args``: its report and its standard error. A failure is the
    command's CommandError."""
    out, err = io.StringIO(), io.StringIO()
    call_command("verify_export", str(source), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def verify_outcome(source: Path) -> tuple[bool, str, str]:
    """``verify_export SOURCE``: whether it verified, its report, and its standard error (with
    the CommandError's message when it did not)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_export", str(source), stdout=out, stderr=err)
    except CommandError as exc:
        return False, out.getvalue(), err.getvalue() + str(exc)
    return True, out.getvalue(), err.getvalue()


def import_(source: Path, *args: str, verbosity: int = 1) -> str:
    """``document_importer SOURCE *args``; its report. A failure is the command's CommandError."""
    out = io.StringIO()
    call_command(
        "document_importer",
        str(source),
        *args,
        "--no-progress-bar",
        verbosity=verbosity,
        stdout=out,
    )
    return out.getvalue()


def read_tree(root: Path, passphrase: str | None) -> dict[str, object]:
    """Every file under root (zip entries as "name.zip!entry"), secrets decrypted."""
    contents: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        relpath = path.relative_to(root).as_posix()
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    contents[f"{relpath}!{info.filename}"] = archive.read(info)
        else:
            contents[relpath] = path.read_bytes()
    ciphers: dict[str, SecretCipher] = {}
    return {
        name: decrypted(name, data, passphrase, contents, ciphers)
        for name, data in contents.items()
    }


def decrypted(
    name: str, data: bytes, passphrase: str | None, contents: dict, ciphers: dict | None = None
) -> object:
    """A file of an export as ``read_tree`` compares it: a manifest's records with their secrets
    decrypted, metadata without its random salt, any other file as its bytes.

    ``ciphers`` keeps each metadata file's cipher: deriving the key is slow on purpose, and a
    split export has one manifest per document under the same metadata."""
    if passphrase is None or not name.endswith(".json"):
        return data
    value = json.loads(data)
    if name.endswith("metadata.json"):
        # The salt is random per run; that it is there is checked elsewhere.
        assert value.pop("encryption")["salt"]
        return value
    metadata_name = name.rsplit("!", 1)[0] + "!metadata.json" if "!" in name else "metadata.json"
    ciphers = {} if ciphers is None else ciphers
    if metadata_name not in ciphers:
        ciphers[metadata_name] = SecretCipher.from_metadata(
            passphrase, json.loads(contents[metadata_name])
        )
    cipher = ciphers[metadata_name]
    return [
        decrypt_fields(r, ("password", "refresh_token"), cipher)
        if r["model"] == "documents.mailaccount"
        else r
        for r in value
    ]


def records(target: Path) -> list[dict]:
    """The records of the export's manifest.json."""
    return json.loads((target / "manifest.json").read_bytes())


def write_records(target: Path, changed: list[dict]) -> None:
    """Replace the export's manifest.json by ``changed``."""
    (target / "manifest.json").write_text(json.dumps(changed, indent=2))


def add_unknown_field(target: Path) -> tuple[int, dict]:
    """Give the first tag record of the export's manifest a field its model does not have
    (``colour_name``); the record's index in the manifest, and the record."""
    changed = records(target)
    index, tag = next((i, r) for i, r in enumerate(changed) if r["model"] == "documents.tag")
    tag["fields"]["colour_name"] = "red"
    write_records(target, changed)
    return index, tag


def documents(target: Path) -> list[dict]:
    """The document records of the export's manifest.json."""
    return [r for r in records(target) if r["model"] == "documents.document"]


def record_problem(
    target: Path,
    document: dict,
    *,
    key: str = FILE,
    file: str = "original",
    problem: str = "missing",
    kept: bool = False,
    remove: bool = True,
) -> str:
    """Record a problem in metadata.json as the exporter does, and (by default) remove the
    file from the export; return the file's export name."""
    name = document[key]
    metadata = json.loads((target / "metadata.json").read_bytes())
    metadata.setdefault("problems", []).append(
        {
            "document": document["pk"],
            "title": document["fields"]["title"],
            "file": file,
            "export_name": name,
            "source": f"/srv/media/originals/{document['pk']:07}.pdf",
            "problem": problem,
            "detail": f"The file /srv/media/originals/{document['pk']:07}.pdf is {problem}.",
            "kept_previous_copy": kept,
        }
    )
    (target / "metadata.json").write_text(json.dumps(metadata, indent=2))
    if remove:
        (target / name).unlink()
    return name


def flip_byte(path: Path) -> None:
    """Invert the byte in the middle of the file, in place."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
