"""What paperless-ngx's own exporter writes, rebuilt from its documented behaviour only.

Run inside the paperless-ngx twin (``cwd`` = ``paperless_twin/src``, ``/work/main`` on
PYTHONPATH)::

    python -m tests.paperless.oracle OUTPUT_DIR [--layout flat|classic] [--version 3|2]
        [--no-thumbnail] [--no-archive] [--use-folder-prefix] [--passphrase P]
        [--sources FILE]

It writes ``OUTPUT_DIR/manifest.json`` and ``OUTPUT_DIR/metadata.json`` as paperless-ngx would
(3.0.5 rules, or with ``--version 2`` the rules of the 2.x line run on the same schema), and
with ``--sources`` a JSON map of every exported file name to the media file it comes from.
Nothing here comes from the ``exporter`` package: this is what the engine is measured against.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

#: Users paperless-ngx leaves out of its exports (and, in 3.x, the rows that belong to them).
EXCLUDED_USERS = ["consumer", "AnonymousUser"]
#: paperless-ngx's default --batch-size: rows per chunk of its section iterators.
BATCH_SIZE = 500
#: Secret fields, by model label.
SECRETS = {
    "paperless_mail.mailaccount": ("password", "refresh_token"),
    "socialaccount.socialtoken": ("token", "token_secret"),
}
#: The parsers' mime type -> extension map; other types go through ``mimetypes``.
EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/tiff": ".tif",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "text/plain": ".txt",
    "text/csv": ".csv",
    "application/csv": ".csv",
    "message/rfc822": ".eml",
}


@dataclass(frozen=True)
class Section:
    """One section of the manifest: a model, the manager read, the user exclusion, the order."""

    key: str
    label: str
    manager: str = "objects"
    exclude_user: str | None = None
    order_by: str | None = None


def sections_3x(audit_log: bool) -> list[Section]:
    """paperless-ngx 3.0.5's sections in manifest order (documents and bundles last)."""
    sections = _common_head(soft_manager="global_objects", exclude=True)
    sections += [
        Section("share_links", "documents.sharelink", "global_objects"),
        *_social(exclude=True),
    ]
    if audit_log:
        sections.append(Section("log_entries", "auditlog.logentry"))
    sections += [
        Section("documents", "documents.document", "global_objects", order_by="id"),
        Section("share_link_bundles", "documents.sharelinkbundle", order_by="id"),
    ]
    return sections


def sections_2x(audit_log: bool) -> list[Section]:
    """The 2.x sections in manifest order: documents after notes, no share links or bundles,
    no user exclusions beyond the users themselves."""
    sections = _common_head(soft_manager="objects", exclude=False)
    sections += [
        Section("documents", "documents.document", order_by="id"),
        *_social(exclude=False),
    ]
    if audit_log:
        sections.append(Section("log_entries", "auditlog.logentry"))
    return sections


def _common_head(soft_manager: str, exclude: bool) -> list[Section]:
    by_user = "user__username" if exclude else None
    return [
        Section("correspondents", "documents.correspondent"),
        Section("tags", "documents.tag"),
        Section("document_types", "documents.documenttype"),
        Section("storage_paths", "documents.storagepath"),
        Section("mail_accounts", "paperless_mail.mailaccount"),
        Section("mail_rules", "paperless_mail.mailrule"),
        Section("saved_views", "documents.savedview"),
        Section("saved_view_filter_rules", "documents.savedviewfilterrule"),
        Section("groups", "auth.group"),
        Section("users", "auth.user", exclude_user="username"),
        Section("ui_settings", "documents.uisettings", exclude_user=by_user),
        Section("content_types", "contenttypes.contenttype"),
        Section("permissions", "auth.permission"),
        Section("user_object_permissions", "guardian.userobjectpermission", exclude_user=by_user),
        Section("group_object_permissions", "guardian.groupobjectpermission"),
        Section("workflow_triggers", "documents.workflowtrigger"),
        Section("workflow_actions", "documents.workflowaction"),
        Section("workflow_email_actions", "documents.workflowactionemail"),
        Section("workflow_webhook_actions", "documents.workflowactionwebhook"),
        Section("workflows", "documents.workflow"),
        Section("custom_fields", "documents.customfield"),
        Section("custom_field_instances", "documents.customfieldinstance", soft_manager),
        Section("app_configs", "paperless.applicationconfiguration"),
        Section("notes", "documents.note", soft_manager),
    ]


def _social(exclude: bool) -> list[Section]:
    return [
        Section(
            "social_accounts",
            "socialaccount.socialaccount",
            exclude_user=("user__username" if exclude else None),
        ),
        Section("social_apps", "socialaccount.socialapp"),
        Section(
            "social_tokens",
            "socialaccount.socialtoken",
            exclude_user=("account__user__username" if exclude else None),
        ),
        Section(
            "authenticators",
            "mfa.authenticator",
            exclude_user=("user__username" if exclude else None),
        ),
    ]


def queryset(section: Section):
    """The queryset paperless-ngx reads for ``section`` (its model's default ordering unless the
    section orders by id)."""
    from django.apps import apps

    model = apps.get_model(section.label)
    rows = getattr(model, section.manager).all()
    if section.exclude_user:
        rows = rows.exclude(**{f"{section.exclude_user}__in": EXCLUDED_USERS})
    if section.order_by:
        rows = rows.order_by(section.order_by)
    return rows


def serialize(objects: Iterable) -> list[dict]:
    """Records as Django's ``python`` serializer gives them."""
    from django.core import serializers

    return serializers.serialize("python", objects)


def file_type(mime_type: str) -> str:
    """The extension paperless-ngx gives a document of ``mime_type``."""
    if mime_type in EXTENSIONS:
        return EXTENSIONS[mime_type]
    return mimetypes.guess_extension(mime_type) or ""


def document_string(document) -> str:
    """``str(document)`` in paperless-ngx: created date, correspondent name, title."""
    text = document.created.isoformat()
    if document.correspondent_id is not None:
        text += f" {document.correspondent.name}"
    if document.title:
        text += f" {document.title}"
    return text


class Names:
    """The export names of one run: one set of base names, filled in document pk order."""

    def __init__(self, folder_prefix: bool) -> None:
        self.used: set[str] = set()
        self.prefix = folder_prefix

    def base(self, document) -> str:
        """A free, sanitised base name for ``document`` (counter loop of paperless-ngx)."""
        from pathvalidate import sanitize_filename

        stem, suffix = document_string(document), file_type(document.mime_type)
        for counter in range(100_000):
            candidate = stem + (f"_{counter:02}" if counter else "") + suffix
            name = sanitize_filename(candidate, replacement_text="-")
            if name not in self.used:
                self.used.add(name)
                return name
        raise RuntimeError(f"no free name for {stem!r}: paperless-ngx would loop for ever")

    def document(self, document, thumbnail: bool, archive: bool) -> dict[str, str]:
        """The ``__exported_*`` keys of ``document``, in paperless-ngx's order."""
        base = PurePosixPath(self.base(document))
        names = {"__exported_file_name__": self._in("originals", base)}
        if thumbnail:
            names["__exported_thumbnail_name__"] = self._in(
                "thumbnails", base.parent / f"{base.stem}-thumbnail.webp"
            )
        if archive and document.archive_filename is not None:
            names["__exported_archive_name__"] = self._in(
                "archive", base.parent / f"{base.stem}-archive.pdf"
            )
        return names

    def _in(self, folder: str, path: PurePosixPath) -> str:
        return (PurePosixPath(folder) / path).as_posix() if self.prefix else path.as_posix()


def media_dirs() -> dict[str, Path]:
    """The media folders paperless-ngx derives from MEDIA_ROOT."""
    from django.conf import settings

    documents = Path(settings.MEDIA_ROOT).resolve() / "documents"
    return {
        "originals": documents / "originals",
        "archive": documents / "archive",
        "thumbnails": documents / "thumbnails",
        "bundles": documents / "share_link_bundles",
    }


def document_sources(document, names: dict[str, str]) -> dict[str, str]:
    """Export name -> absolute media path of each file exported for ``document``."""
    dirs = media_dirs()
    if document.filename:
        original = dirs["originals"] / document.filename
    else:
        original = dirs["originals"] / f"{document.pk:07}{file_type(document.mime_type)}"
    sources = {names["__exported_file_name__"]: original.resolve()}
    if "__exported_thumbnail_name__" in names:
        thumbnail = dirs["thumbnails"] / f"{document.pk:07}.webp"
        sources[names["__exported_thumbnail_name__"]] = thumbnail.resolve()
    if "__exported_archive_name__" in names:
        archive = dirs["archive"] / document.archive_filename
        sources[names["__exported_archive_name__"]] = archive.resolve()
    return {name: str(path) for name, path in sources.items()}


def bundle_record(record: dict, bundle, sources: dict[str, str]) -> dict:
    """A share-link bundle's record with its portable ``file_path`` and its export name."""
    file_path = bundle.file_path
    if not file_path:
        return record
    path = Path(file_path)
    portable = PurePosixPath(path.as_posix() if not path.is_absolute() else path.name)
    record["fields"]["file_path"] = portable.as_posix()
    name = f"share_link_bundles/{portable.as_posix()}"
    record["__exported_share_link_bundle_name__"] = name
    root = media_dirs()["bundles"]
    resolved = (root / file_path).resolve()
    if not path.is_absolute() and resolved.is_relative_to(root):
        sources[name] = str(resolved)
    return record


def build_records(options: argparse.Namespace) -> tuple[list[dict], dict[str, str]]:
    """Every manifest record in order, and the export name -> source path map."""
    from django.conf import settings

    audit_log = bool(getattr(settings, "AUDIT_LOG_ENABLED", True))
    plan = sections_3x(audit_log) if options.version == 3 else sections_2x(audit_log)
    names = Names(options.use_folder_prefix)
    records: list[dict] = []
    sources: dict[str, str] = {}
    for section in plan:
        # Read as paperless-ngx reads (a chunked iterator: a server-side cursor on PostgreSQL,
        # whose plan, and so the order of ties, can differ from a plain query's).
        objects = list(queryset(section).iterator(chunk_size=BATCH_SIZE))
        for obj, record in zip(objects, serialize(objects), strict=True):
            if section.key == "documents":
                extra = names.document(obj, not options.no_thumbnail, not options.no_archive)
                record.update(extra)
                sources.update(document_sources(obj, extra))
            elif section.key == "share_link_bundles":
                record = bundle_record(record, obj, sources)
            records.append(record)
    return records, sources


def encrypt_records(records: list[dict], passphrase: str) -> dict:
    """Encrypt every truthy secret in place; the ``__crypto__`` object used."""
    from tests.paperless.paperless_crypto import crypto_block, encrypt_value, fernet_for

    crypto = crypto_block()
    fernet = fernet_for(passphrase, crypto)
    for record in records:
        for field in SECRETS.get(record["model"], ()):
            if record["fields"].get(field):
                record["fields"][field] = encrypt_value(fernet, record["fields"][field])
    return crypto


def frame(records: list[dict], layout: str) -> bytes:
    """The manifest bytes: 3.x streamed framing ("flat") or one json.dumps ("classic")."""
    from django.core.serializers.json import DjangoJSONEncoder

    def dumps(value) -> str:
        return json.dumps(value, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)

    if layout == "classic":
        return dumps(records).encode("utf-8")
    return ("[" + ",\n".join(dumps(record) for record in records) + "\n]").encode("utf-8")


def metadata(crypto: dict | None) -> bytes:
    """metadata.json: the running paperless-ngx version, then ``__crypto__`` if encrypted."""
    from paperless.version import __full_version_str__

    content: dict = {"version": __full_version_str__}
    if crypto is not None:
        content["__crypto__"] = crypto
    return json.dumps(content, indent=2, ensure_ascii=False).encode("utf-8")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The oracle's command line."""
    parser = argparse.ArgumentParser(prog="oracle", description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--layout", choices=["flat", "classic"], default=None)
    parser.add_argument("--version", type=int, choices=[2, 3], default=3)
    parser.add_argument("--no-thumbnail", action="store_true")
    parser.add_argument("--no-archive", action="store_true")
    parser.add_argument("--use-folder-prefix", action="store_true")
    parser.add_argument("--passphrase", default=None)
    parser.add_argument("--sources", type=Path, default=None)
    options = parser.parse_args(argv)
    if options.layout is None:
        options.layout = "flat" if options.version == 3 else "classic"
    return options


def main(argv: list[str]) -> int:
    """Write the expected export into ``OUTPUT_DIR``."""
    options = parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperless.settings")
    import django
    from django.db import transaction

    django.setup()
    with transaction.atomic():
        records, sources = build_records(options)
    crypto = encrypt_records(records, options.passphrase) if options.passphrase else None
    options.output.mkdir(parents=True, exist_ok=True)
    (options.output / "manifest.json").write_bytes(frame(records, options.layout))
    (options.output / "metadata.json").write_bytes(metadata(crypto))
    if options.sources is not None:
        options.sources.write_text(json.dumps(sources, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
