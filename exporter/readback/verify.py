"""Verify an export by reading it back as a stream: JSON, records, references, files, secrets.

Every manifest is parsed with ``ijson.items(f, "item")`` (the yajl2 C backend), one record at a
time; primary keys, references and file names go into a disk-backed ledger, so memory stays flat
at any size. Problems are collected with where they are (manifest, record index, model, pk,
file); the export is good only if there are none.

Problems the export itself recorded in ``metadata.json`` (document files it could not export:
missing, damaged, changed) are reported apart, as such, and the files they name are not
reported again as missing or damaged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import ijson
from django.apps import apps
from django.db import models

from exporter.batches import django_record_batches
from exporter.encryption import (
    InvalidSecret,
    SecretCipher,
    decrypt_record,
    encryption_parameters,
)
from exporter.format import FILE_NAME_KEY, MANIFEST, METADATA
from exporter.plan import ExportPlan
from exporter.progress import ExportProgress
from exporter.readback.compare import DatabaseComparison
from exporter.readback.ledger import ReadLedger
from exporter.readback.loader import describe_unknown_fields, unknown_fields
from exporter.readback.reading import (
    LEGACY_VERSION,
    RecordedProblem,
    announced_counts,
    describe_json_error,
    read_metadata,
    read_records,
    recorded_problems,
)
from exporter.readback.report import VerifyReport
from exporter.readback.source import ExportSource, MediaPaths
from exporter.readback.verify_files import ZIP_ERRORS, FileChecks, describe_os_error


class ExportVerifier(FileChecks):
    """Check one export against the site's plan; :meth:`run` returns a :class:`VerifyReport`.

    ``passphrase`` checks that every encrypted secret decrypts; ``against_db`` compares each
    record with the database's current row, by meaning (:mod:`exporter.readback.compare`);
    ``checksums=False`` checks that files exist without hashing them; ``progress`` hears of the
    stages, the records read and the bytes hashed. The source is read, never changed; the
    caller opens and closes it (:func:`exporter.readback.opening.open_export`).
    """

    def __init__(
        self,
        source: ExportSource,
        plan: ExportPlan,
        *,
        passphrase: str | None = None,
        against_db: bool = False,
        checksums: bool = True,
        progress: ExportProgress | None = None,
    ) -> None:
        self.source = source
        self.progress = progress or ExportProgress()
        self.plan = plan
        self.passphrase = passphrase
        self.against_db = against_db
        self.checksums = checksums
        self.report = VerifyReport()
        #: Whether a manifest could not be read to its end.
        self.unreadable = False
        self.cipher: SecretCipher | None = None
        self.contents: dict[str, Any] = {}
        #: The export's recorded problems, by the export name of the file they concern.
        self.recorded: dict[str, RecordedProblem] = {}
        self.paths = MediaPaths(source, plan)
        self._models: dict[str, type[models.Model] | None] = {}
        self._relations: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {}
        self.plan_models = {s.queryset().model._meta.label_lower for s in plan.sections}
        self.comparison: DatabaseComparison | None = None

    def run(self) -> VerifyReport:
        """Read the whole export and report every problem found in it."""
        try:
            return self.verify()
        finally:
            self.progress.finish()

    def verify(self) -> VerifyReport:
        """:meth:`run`'s work: every check, in order."""
        report = self.report
        report.alerts.extend(self.source.notes)
        if self.source.unfinished is not None:
            report.fatal(self.source.unfinished)
            return report
        try:
            metadata = read_metadata(self.source)
        except ValueError as exc:
            report.fatal(str(exc))
            return report
        except (OSError, *ZIP_ERRORS) as exc:
            report.fatal(f"{METADATA} cannot be read: {describe_os_error(exc)}.")
            return report
        self.contents = metadata.get("contents", {})
        if not isinstance(self.contents, dict):
            self.contents = {}
        self.setup_cipher(metadata)
        if self.against_db:
            self.comparison = DatabaseComparison(
                report,
                secrets=self.plan.secrets,
                encrypted=self.cipher is None and encryption_parameters(metadata) is not None,
            )
        self.read_recorded(metadata)
        if not self.source.exists(MANIFEST):
            report.fatal(f"{MANIFEST} is missing from {self.source.location}.")
            return report
        self.ledger = ReadLedger()
        try:
            counts = announced_counts(metadata)
            total = sum(counts.values()) if counts is not None else None
            self.progress.stage("reading and hashing", total=total, unit="records")
            for relpath in self.source.manifests():
                report.manifests += 1
                self.check_manifest(relpath)
            self.progress.stage("checking references")
            self.check_duplicates()
            self.check_references()
            self.check_leftovers()
        finally:
            self.ledger.close()
        if self.comparison is not None:
            self.comparison.finish()
        return report

    def setup_cipher(self, metadata: dict[str, Any]) -> None:
        """The cipher of the export's secrets, from the passphrase and the metadata's
        parameters; a problem if they do not go together."""
        encryption = encryption_parameters(metadata)
        if self.passphrase is None:
            # With --against-db the comparison's one note of the secrets says it all.
            if encryption and not self.against_db:
                self.report.notes.append(
                    "The export's secrets are encrypted; pass its passphrase to check that they "
                    "decrypt."
                )
            return
        if not encryption:
            self.report.problem("A passphrase was given, but the export is not encrypted.")
            return
        try:
            self.cipher = SecretCipher.from_metadata(self.passphrase, encryption)
        except (ValueError, TypeError) as exc:
            self.report.problem(f"{METADATA}: unusable encryption parameters: {exc}")

    def read_recorded(self, metadata: dict[str, Any]) -> None:
        """Note the problems the export recorded, to report them as such and not again."""
        try:
            problems = recorded_problems(metadata)
        except ValueError as exc:
            self.report.problem(str(exc))
            return
        for problem in problems:
            self.report.recorded.append(problem.describe())
            self.recorded[problem.export_name] = problem

    # -- manifests -----------------------------------------------------------------------------

    def check_manifest(self, relpath: str) -> None:
        """Check every record of one manifest, and that it reads to its end."""
        streamed = self.comparison is not None and relpath == MANIFEST
        if streamed:
            self.comparison.start_stream(self.db_records())
        try:
            self.read_manifest(relpath, streamed)
        finally:
            if streamed:
                self.comparison.end_stream(
                    relpath, complete=not self.unreadable, models_by_label=self.model
                )

    def read_manifest(self, relpath: str, streamed: bool) -> None:
        """Check every record of one manifest; a problem if it does not read to its end."""
        index = -1
        try:
            with self.source.open(relpath) as stream:
                for index, record in enumerate(read_records(stream)):
                    self.check_record(relpath, index, record, streamed)
                    self.progress.advance()
        except OSError as exc:
            self.unreadable = True
            self.report.fatal(f"{relpath} cannot be read: {describe_os_error(exc)}.")
            return
        except ZIP_ERRORS as exc:
            self.unreadable = True
            self.report.problem(f"{relpath}: the zip member is damaged ({exc}).")
            return
        except ijson.JSONError as exc:
            self.unreadable = True
            reason = describe_json_error(exc)
            if reason.startswith("it holds the number"):
                self.report.problem(f"{relpath} record {index + 1}: not valid JSON: {reason}.")
            else:
                self.report.problem(
                    f"{relpath}: not valid JSON after record {index} ({reason}); the file is "
                    "truncated or damaged."
                )
            return

    def check_record(self, relpath: str, index: int, record: Any, streamed: bool) -> None:
        """Check one record: its shape, model and fields, its secrets and files, and (with
        ``against_db``) its row; remember its key, references and file names."""
        where = f"{relpath} record {index}"
        if not isinstance(record, dict) or not {"model", "pk", "fields"} <= record.keys():
            self.report.problem(f"{where}: not a record (needs model, pk and fields).")
            return
        label, pk, fields = record["model"], record["pk"], record["fields"]
        where = f"{where} ({label} pk={pk})"
        model = self.model(label)
        if model is None:
            self.report.problem(f"{where}: unknown model {label!r}.")
            return
        if not isinstance(fields, dict):
            self.report.problem(f"{where}: fields is not an object.")
            return
        unknown = unknown_fields(model, fields)
        if unknown:
            self.report.problem(f"{where}: {describe_unknown_fields(model, unknown)}")
        self.ledger.add_record(label, pk, where)
        self.report.records[label] += 1
        self.collect_references(where, model, fields)
        record = self.decrypt(where, record)
        if FILE_NAME_KEY in record:
            self.check_files(where, record)
        else:
            self.check_attached_files(where, record)
        if streamed:
            self.comparison.compare_next(where, model, record)
        elif self.comparison is not None:
            self.comparison.compare_one(where, model, record)

    def model(self, label: Any) -> type[models.Model] | None:
        """The model of a record's label, or None if there is no such model here."""
        if not isinstance(label, str):
            return None
        if label not in self._models:
            try:
                self._models[label] = apps.get_model(label)
            except (LookupError, ValueError):
                self._models[label] = None
        return self._models[label]

    def collect_references(self, where: str, model, fields: dict[str, Any]) -> None:
        """Remember what the record points to, to check at the end that it is exported."""
        foreign_keys, many_to_many = self.relations(model)
        refs = [
            (target, str(fields[name]), where)
            for name, target in foreign_keys
            if fields.get(name) is not None
        ]
        for name, target in many_to_many:
            refs.extend((target, str(value), where) for value in fields.get(name) or ())
        if refs:
            self.ledger.add_refs(refs)

    def relations(self, model) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """``model``'s foreign keys and many-to-many fields, as (name, target label) pairs.

        References to models the plan does not export are left out on purpose.
        """
        label = model._meta.label_lower
        if label not in self._relations:
            meta = model._meta
            self._relations[label] = (
                [
                    (f.name, f.related_model._meta.label_lower)
                    for f in meta.concrete_fields
                    if f.is_relation and f.related_model._meta.label_lower in self.plan_models
                ],
                [
                    (f.name, f.related_model._meta.label_lower)
                    for f in meta.many_to_many
                    if f.related_model._meta.label_lower in self.plan_models
                ],
            )
        return self._relations[label]

    def decrypt(self, where: str, record: dict[str, Any]) -> dict[str, Any]:
        """The record with its secrets decrypted; a problem for each that does not decrypt."""
        try:
            return decrypt_record(record, self.plan.secrets, self.cipher)
        except InvalidSecret as exc:
            self.report.problem(f"{where}: a secret does not decrypt: {exc}")
            return record

    # -- whole export --------------------------------------------------------------------------

    def check_duplicates(self) -> None:
        """Report every record whose model and pk an earlier record has, and every file an
        earlier record names too."""
        for model, pk, origin in self.ledger.duplicates():
            self.report.problem(f"{origin}: duplicate pk {pk} for {model}.")
        for relpath, origin in self.ledger.shared_names():
            self.report.problem(
                f"{origin}: names the file {relpath}, which an earlier record names too: the "
                "export holds one of the two files, and an import would give both records it."
            )

    def check_references(self) -> None:
        """Report every reference to a record that the export does not hold."""
        if self.unreadable:
            # The records after the damage were never read: what points at them is not lost.
            return
        left_out: Counter = Counter()
        for model, pk, origin in self.ledger.dangling():
            if model in self.plan.kept_on_import:
                left_out[model, pk] += 1
                continue
            self.report.problem(f"{origin}: points to {model} pk={pk}, which is not exported.")
        for (model, pk), count in left_out.items():
            self.report.warnings.append(
                f"{count} records point to {model} pk={pk}, a row of the site's own that its "
                "exports leave out: the database this export is imported into must have it."
            )

    def check_leftovers(self) -> None:
        """Warn of every file of the export that no record names."""
        for relpath in self.source.iter_files():
            if relpath in (METADATA, LEGACY_VERSION) or relpath.endswith("manifest.json"):
                continue
            if not self.ledger.has_name(relpath):
                self.report.warnings.append(f"{relpath} is not named by any record.")

    # -- against the database ------------------------------------------------------------------

    def db_records(self) -> Iterator[dict[str, Any]]:
        """The database's records in ``manifest.json``'s order, as the export would write them."""
        split = self.contents.get("split_manifest", False)
        for section in self.plan.sections:
            if split and section.key == self.plan.documents_key:
                continue
            queryset = self.plan.main_manifest_rows(section, split=split)
            for batch in django_record_batches(queryset):
                yield from batch
