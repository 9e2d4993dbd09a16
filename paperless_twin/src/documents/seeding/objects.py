"""Matching objects, custom fields, mail, saved views and the settings singleton.

Name ties are deliberate: the same name under different owners (and unowned), which paperless's
constraints allow and which the exporter's ``ORDER BY name`` leaves to the database to break.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from paperless.models import ApplicationConfiguration
from paperless_mail.models import MailAccount, MailRule

from documents.models import (
    Correspondent,
    CustomField,
    DocumentType,
    SavedView,
    SavedViewFilterRule,
    StoragePath,
    Tag,
)
from documents.seeding.people import People
from documents.seeding.text import AWKWARD_FLOATS, Texts

__all__ = ["Catalogue", "seed_catalogue", "seed_mail", "seed_saved_views", "seed_settings"]


@dataclass
class Catalogue:
    """What documents can be assigned."""

    correspondents: list[Correspondent] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    document_types: list[DocumentType] = field(default_factory=list)
    storage_paths: list[StoragePath] = field(default_factory=list)
    custom_fields: list[CustomField] = field(default_factory=list)
    mail_rules: list[MailRule] = field(default_factory=list)


def _matching(texts: Texts, index: int) -> dict:
    rng = texts.rng
    return {
        "match": rng.choice(["", "invoice", r"^\d{4}-(ü|u)$", texts.fragment()]),
        "matching_algorithm": index % 7,
        "is_insensitive": index % 3 != 0,
    }


def _named(model: type, texts: Texts, people: People, names: list[str], **extra: object) -> list:
    """Objects named ``names``, the first name also under two owners (a tie on name)."""
    rows = []
    owners = [None, people.by_name("alice"), people.by_name("bob")]
    for index, name in enumerate(names):
        row_owners = owners if index == 0 else [texts.rng.choice(owners)]
        for owner in row_owners:
            rows.append(model.objects.create(
                name=name, owner=owner, **_matching(texts, index + len(rows)), **extra,
            ))
    return rows


def seed_catalogue(texts: Texts, people: People) -> Catalogue:
    """Correspondents, a tag tree, document types, storage paths and one field per type."""
    cat = Catalogue()
    cat.correspondents = _named(Correspondent, texts, people, [
        "Bank", "Zeta Corp", "alpha GmbH", "Ämter & Behörden 1", "東京電力", "O'Brien \"&\" Sons",
        "Back\\slash Ltd", "🦄 Unicorn", "Line\u2028Sep", "",
    ])
    cat.document_types = _named(DocumentType, texts, people, [
        "Invoice", "receipt", "Vertrag 2", "請求書", "Tab\tType", "Émoji 📄",
    ])
    cat.storage_paths = [
        *_named(StoragePath, texts, people, ["By year"], path="{{ created_year }}/{{ title }}"),
        StoragePath.objects.create(
            name="Correspondent 🗂", path="{{ correspondent }}/{{ created }} {{ title }}",
        ),
        StoragePath.objects.create(name="Flat", path="{{ title }}", owner=people.by_name("bob")),
    ]
    cat.tags = _seed_tags(texts, people)
    cat.custom_fields = _seed_custom_fields(texts)
    return cat


def _seed_tags(texts: Texts, people: People) -> list[Tag]:
    """A tree five levels deep with siblings of equal priority, plus ties and an inbox tag."""
    rng = texts.rng
    tags: list[Tag] = []

    def make(name: str, parent: Tag | None = None, **extra: object) -> Tag:
        tag = Tag.objects.create(
            name=name, tn_parent=parent, color=f"#{rng.randrange(0x1000000):06x}",
            tn_priority=rng.choice([0, 0, 1, 5]), **_matching(texts, len(tags)), **extra,
        )
        tags.append(tag)
        return tag

    inbox = make("Inbox 📥", is_inbox_tag=True)
    finance = make("Finance")
    tax = make("Tax", finance)
    year = make("2024", tax)
    quarter = make("Q1 \"early\"", year)
    make("January\\raw", quarter)
    make("Insurance", finance)
    personal = make("personal")
    make("Health ❤", personal)
    make("Ärzte", personal)
    make("家族", personal)
    make("Finance", owner=people.by_name("alice"))
    make("Finance", inbox, owner=people.by_name("bob"))
    make("Zzz last")
    for tag in tags:
        # treenode recomputes the tn_* columns of every row on each save: read them back.
        tag.refresh_from_db()
    return tags


def _seed_custom_fields(texts: Texts) -> list[CustomField]:
    """One custom field of each data type (two for monetary and select)."""
    specs = [
        ("Notes ✎", "string", None),
        ("Website", "url", None),
        ("Due date", "date", None),
        ("Paid?", "boolean", None),
        ("Count", "integer", None),
        ("Ratio", "float", None),
        ("Amount €", "monetary", {"default_currency": "EUR"}),
        ("Amount (plain)", "monetary", None),
        ("Related docs", "documentlink", None),
        ("Priority", "select", {"select_options": [
            {"id": "a1B2c3D4e5F6g7H8", "label": "High 🔥"},
            {"id": "lowlowlowlowlow0", "label": "low \"quoted\""},
            {"id": "x", "label": "日本"},
        ]}),
        ("Status", "select", {"select_options": []}),
        ("Long text", "longtext", None),
    ]
    fields = []
    for name, data_type, extra in specs:
        fields.append(CustomField.objects.create(
            name=name, data_type=data_type, extra_data=extra, created=texts.moment(2020, 2021),
        ))
    return fields


def seed_mail(texts: Texts, people: People, cat: Catalogue) -> None:
    """Mail accounts with secrets (one empty, one NULL refresh token) and their rules."""
    accounts = [
        MailAccount.objects.create(
            name="Main IMAP 📬", imap_server="imap.example.org", imap_port=993,
            username="me@example.org", password="pässwörd \"quoted\" \\ 🔑", refresh_token="",
            owner=people.by_name("alice"),
        ),
        MailAccount.objects.create(
            name="Gmail OAuth", imap_server="imap.gmail.com", imap_port=None, imap_security=3,
            username="oauth@example.org", password="ya29.token-value", is_token=True,
            account_type=2, refresh_token="1//refresh-token\u2028line",
            expiration=texts.moment(),
        ),
        MailAccount.objects.create(
            name="Legacy", imap_server="mail.example.net", imap_security=1, username="legacy",
            password="", character_set="ISO-8859-1", refresh_token=None,
        ),
    ]
    rng = texts.rng
    owners = [None, people.by_name("alice"), people.by_name("bob")]
    for index in range(6):
        # The first name appears three times, under three owners.
        name = "Invoices rule" if index < 3 else f"Rule {index} {texts.fragment()}"[:200]
        rule = MailRule.objects.create(
            name=name, owner=owners[index % 3], order=index - 2, account=accounts[index % 3],
            folder=rng.choice(["INBOX", "INBOX/Päid", "[Gmail]/All Mail"]),
            filter_from=rng.choice([None, "billing@example.org", ""]),
            filter_subject=rng.choice([None, "Invoice *", texts.fragment()]),
            filter_attachment_filename_include=rng.choice([None, "*.pdf"]),
            maximum_age=rng.randint(0, 365), attachment_type=1 + index % 2,
            consumption_scope=1 + index % 3, pdf_layout=index % 5, action=1 + index % 5,
            action_parameter=rng.choice([None, "Archive", "\\Seen"]),
            assign_title_from=1 + index % 3, assign_correspondent_from=1 + index % 4,
            assign_document_type=rng.choice([None, *cat.document_types]),
            assign_correspondent=rng.choice([None, *cat.correspondents]),
            assign_owner_from_rule=index % 2 == 0, stop_processing=index == 4,
        )
        rule.assign_tags.set(rng.sample(cat.tags, k=rng.randint(0, 3)))
        cat.mail_rules.append(rule)


def seed_saved_views(texts: Texts, people: People, cat: Catalogue) -> None:
    """Saved views (ties on name) with filter rules and display fields."""
    rng = texts.rng
    owners = [None, people.by_name("alice"), people.by_name("admin"), people.by_name("consumer")]
    names = ["Inbox", "Inbox", "Recent 🕑", "taxes \"2024\"", "Ämter"]
    for index, name in enumerate(names):
        view = SavedView.objects.create(
            name=name, owner=owners[index % len(owners)],
            sort_field=rng.choice([None, "created", "title", "custom_field_1"]),
            sort_reverse=index % 2 == 1, page_size=rng.choice([None, 25, 100]),
            display_mode=rng.choice([None, "table", "smallCards", "largeCards"]),
            display_fields=rng.choice([
                None, [], ["title", "created", "tag", f"custom_field_{cat.custom_fields[0].pk}"],
                ["asn", "pagecount", "note", "owner", "shared"],
            ]),
        )
        for rule_type in rng.sample(range(50), k=rng.randint(0, 5)):
            value = rng.choice([None, "", str(rng.randint(1, 99)), texts.fragment(),
                                '["AND", [[1, "exact", "x"]]]'])
            SavedViewFilterRule.objects.create(saved_view=view, rule_type=rule_type, value=value)


def seed_settings(texts: Texts) -> None:
    """Fill the settings singleton with values of every kind."""
    config = ApplicationConfiguration.objects.get(pk=1)
    config.output_type = "pdfa-2"
    config.pages = 3
    config.language = "deu+eng"
    config.mode = "redo"
    config.archive_file_generation = "always"
    config.image_dpi = 300
    config.unpaper_clean = "clean-final"
    config.deskew = True
    config.rotate_pages = False
    config.rotate_pages_threshold = 12.5
    config.max_image_pixels = AWKWARD_FLOATS[1]
    config.color_conversion_strategy = "RGB"
    config.user_args = {"continue_on_soft_render_error": True, "threshold": 0.1, "list": [1.5]}
    config.app_title = 'Paperless "Twin" 🦄'
    config.app_logo = "logo/logo 🦄.png"
    config.barcodes_enabled = True
    config.barcode_string = "PATCHT"
    config.barcode_asn_prefix = "ASN"
    config.barcode_upscale = 1.5
    config.barcode_dpi = 600
    config.barcode_max_pages = 10
    config.barcode_enable_tag = True
    config.barcode_tag_mapping = {"TAG:(.*)": "\\g<1>", "ü": "ß"}
    config.barcode_tag_split = False
    config.ai_enabled = True
    config.llm_embedding_backend = "ollama"
    config.llm_embedding_model = "nomic-embed-text"
    config.llm_embedding_chunk_size = 512
    config.llm_context_size = 8192
    config.llm_backend = "openai-like"
    config.llm_model = "gpt-4o-mini"
    config.llm_api_key = "sk-live-secret-\"key\"\\"
    config.llm_endpoint = "https://llm.example.org/v1"
    config.llm_output_language = "de"
    config.llm_request_timeout = 120
    config.save()
