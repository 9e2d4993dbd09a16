"""verify_export --against-db compares meaning: an export restored into another database
verifies clean, while a changed value, a missing record and a flipped byte are named.

The cross-database test restores an export of a standalone SQLite archive into the database
this pass runs on (PostgreSQL and MariaDB in their passes), verifies it there, then exports it
from there and restores that into a new SQLite archive, and verifies it again. Its tags are
named so that collations disagree on their order ("apple" < "Banana" case-insensitively, the
other way round byte by byte), and two of them tie on their name.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError
from django.db import connection

from documents.models import Document, MailAccount
from tests.helpers.exports import (
    FILE,
    PASSPHRASE,
    documents,
    export,
    flip_byte,
    import_,
    records,
    verify,
    write_records,
)
from tests.helpers.processes import manage

pytestmark = pytest.mark.django_db

ARCHIVE = {"documents": 6, "seed": 41}

#: A standalone archive's documents, and tags whose order the collation decides, given to its
#: first document (one process for both: each process start costs a second).
GENERATE_WITH_COLLATION_TAGS = """
from django.contrib.auth.models import User
from documents.generator import generate_archive
from documents.models import Document, Tag
generate_archive(documents=6, seed=3)
owner = User.objects.order_by("pk").first()
names = [("apple", None), ("Banana", None), ("émile", None), ("Zed", None), ("tie", None),
         ("tie", owner)]
tags = [Tag.objects.create(name=name, owner=who) for name, who in names]
Document.global_objects.order_by("pk").first().tags.add(*tags)
"""


@pytest.fixture(scope="module")
def sqlite_export(tmp_path_factory) -> Path:
    """An export (with files) of a standalone SQLite archive whose tags collations sort apart."""
    home = tmp_path_factory.mktemp("sqlite-home") / "home"
    assert manage(home, "migrate", "-v", "0").returncode == 0
    done = manage(home, "shell", "-c", GENERATE_WITH_COLLATION_TAGS)
    assert done.returncode == 0, done.stderr
    target = home.parent / "export"
    target.mkdir()
    done = manage(home, "document_exporter", str(target), "--stream", "--no-progress-bar")
    assert done.returncode == 0, done.stderr
    return target


def test_an_export_restored_here_and_back_verifies_clean(sqlite_export, media, tmp_path):
    import_(sqlite_export)
    out, err = verify(sqlite_export, "--against-db")
    assert "Problem" not in err, err
    assert out.startswith(f"Verified {sqlite_export}:"), out
    if connection.vendor == "mysql":
        # Case-insensitive collation: the first document's tags come back in another order.
        assert "Note: documents.document.tags: " in err and "compared as sets" in err, err
    # And back: exported from this database, restored into a new SQLite archive.
    back = export(tmp_path / "back")
    home = tmp_path / "sqlite-again"
    assert manage(home, "migrate", "-v", "0").returncode == 0
    done = manage(home, "document_importer", str(back), "--no-progress-bar")
    assert done.returncode == 0, done.stderr
    done = manage(home, "verify_export", str(back), "--against-db")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Problem" not in done.stderr and f"Verified {back}:" in done.stdout


def test_a_changed_value_a_missing_record_and_a_flipped_byte_are_named(archive, tmp_path):
    target = export(tmp_path / "e")
    first = documents(target)[0]
    Document.global_objects.filter(pk=first["pk"]).update(title="Changed title")
    flip_byte(target / first[FILE])
    changed = records(target)
    index, tag = next((i, r) for i, r in enumerate(changed) if r["model"] == "documents.tag")
    del changed[index]
    for record in changed:
        if record["model"] == "documents.document":
            record["fields"]["tags"] = [t for t in record["fields"]["tags"] if t != tag["pk"]]
        if record["model"] == "documents.tag" and record["fields"]["parent"] == tag["pk"]:
            record["fields"]["parent"] = None
    write_records(target, changed)
    with pytest.raises(CommandError) as failed:
        verify(target, "--against-db")
    message = str(failed.value)
    assert message.startswith("Verification failed: ") and "problems in" in message
    _, err = verify_failing(target)
    title = json.dumps(first["fields"]["title"], ensure_ascii=False)
    assert (
        f"(documents.document pk={first['pk']}): field 'title' is {title} in the export, "
        '"Changed title" in the database.'
    ) in err, err
    assert f"file {first[FILE]} has sha256 " in err, err
    assert f"manifest.json: the database's documents.tag pk={tag['pk']} is not in the export." in (
        err
    )


def verify_failing(target: Path, *args: str) -> tuple[str, str]:
    """``verify_export --against-db`` that must fail: its output and its standard error."""
    import io

    from django.core.management import call_command

    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_export", str(target), "--against-db", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_another_order_of_a_tag_list_is_a_note_another_set_a_problem(archive, tmp_path):
    target = export(tmp_path / "e")
    changed = records(target)
    document = next(
        r for r in changed if r["model"] == "documents.document" and len(r["fields"]["tags"]) > 1
    )
    document["fields"]["tags"].reverse()
    write_records(target, changed)
    out, err = verify(target, "--against-db")
    assert "Problem" not in err and out.startswith("Verified"), err
    assert "Note: documents.document.tags: 1 records list the same ids in another order" in err
    dropped = document["fields"]["tags"].pop()
    write_records(target, changed)
    _, err = verify_failing(target)
    assert f"(documents.document pk={document['pk']}): field 'tags' is " in err, err
    assert str(dropped) in err.split("field 'tags' is ", 1)[1].split("\n", 1)[0]


def test_encrypted_secrets_without_the_passphrase_are_noted_once(archive, tmp_path):
    target = export(tmp_path / "e", "--passphrase", PASSPHRASE)
    out, err = verify(target, "--against-db")
    assert out.startswith("Verified"), err
    assert "Problem" not in err, err
    assert err.count("Note: ") == 1 and err.count("Not compared with the database") == 1, err
    assert "documents.mailaccount password, refresh_token (encrypted secrets" in err
    # With the passphrase they are compared, and a changed one is a problem that hides both
    # values.
    out, err = verify(target, "--against-db", "--passphrase", PASSPHRASE)
    assert "Not compared" not in err and out.startswith("Verified"), err
    account = MailAccount.objects.exclude(password="").order_by("pk").first()
    MailAccount.objects.filter(pk=account.pk).update(password="a new one")
    _, err = verify_failing(target, "--passphrase", PASSPHRASE)
    assert (
        f"(documents.mailaccount pk={account.pk}): field 'password' differs from the "
        "database's (a secret: its values are not shown)."
    ) in err, err
    assert "a new one" not in err and account.password not in err
