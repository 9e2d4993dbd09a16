"""``manage.py seed_twin --documents N --seed S [--name-clashes]``: fill a fresh twin database.

Every model paperless-ngx 3.0.5 exports gets rows (facts §1.3), with awkward but valid values,
and documents get real files under MEDIA_ROOT where paperless keeps them (facts §2.2). The same
seed gives the same data on every database, apart from what the database or a library stamps
itself (audit-log timestamps, guardian's AnonymousUser).
"""

from __future__ import annotations

import random
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from documents.models import Correspondent, Document
from documents.seeding import attachments, automation, documents, objects, people
from documents.seeding.text import Texts


class Command(BaseCommand):
    """Seed the twin's database and media directory."""

    help = "Fill a freshly migrated twin database with adversarial, deterministic data."

    def add_arguments(self, parser: CommandParser) -> None:
        """--documents, --seed and --name-clashes."""
        parser.add_argument("--documents", type=int, default=50, help="documents to create")
        parser.add_argument("--seed", type=int, default=1, help="random seed")
        parser.add_argument(
            "--name-clashes", action="store_true",
            help="add the export-name hazards: same stem with another extension, and a "
                 "126-character CJK title",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Seed everything in one transaction."""
        count = options["documents"]
        if count < 0:
            raise CommandError("--documents must be 0 or more")
        if Document.global_objects.exists() or Correspondent.objects.exists():
            raise CommandError("the database already holds data; seed a freshly migrated one")
        texts = Texts(random.Random(options["seed"]))
        started = time.monotonic()
        with transaction.atomic():
            created = self._seed(texts, count, options["name_clashes"])
        self.stdout.write(
            f"seeded {created} documents in {time.monotonic() - started:.1f}s",
        )

    def _seed(self, texts: Texts, count: int, name_clashes: bool) -> int:
        who = people.seed_people(texts)
        people.seed_social(texts, who)
        cat = objects.seed_catalogue(texts, who)
        objects.seed_mail(texts, who, cat)
        objects.seed_saved_views(texts, who, cat)
        objects.seed_settings(texts)
        workflows = automation.seed_workflows(texts, cat)
        plans = documents.plan_documents(texts, cat, count, name_clashes)
        docs = documents.seed_documents(texts, who, cat, plans)
        attachments.seed_notes(texts, who, docs)
        attachments.seed_custom_values(texts, cat, docs)
        attachments.seed_share_links(texts, who, docs)
        attachments.seed_bundles(texts, who, docs)
        attachments.seed_permissions(texts, who, cat, docs)
        automation.seed_runs_and_tasks(texts, workflows, docs)
        attachments.trash_and_edit(texts, who, docs)
        attachments.fix_deletion_times(texts)
        return len(docs)
