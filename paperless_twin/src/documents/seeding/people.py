"""Users, groups, permissions, UI settings, social accounts and authenticators.

paperless's exporter leaves out the rows of ``consumer`` and ``AnonymousUser`` (their UI settings,
object permissions, social accounts, tokens and authenticators), so both get some of each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.conf import settings
from django.contrib.auth.models import Group, Permission, User

from documents.models import UiSettings
from documents.seeding.text import Texts

__all__ = ["People", "seed_people", "seed_social"]

EXCLUDED = ("consumer", "AnonymousUser")


@dataclass
class People:
    """The seeded users and groups, for later steps to own and share things with."""

    users: list[User] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)

    def by_name(self, username: str) -> User:
        """The seeded user called ``username``."""
        return next(user for user in self.users if user.username == username)


def seed_people(texts: Texts) -> People:
    """Create users (with the two excluded ones), groups and their permissions."""
    people = People()
    anonymous, _ = User.objects.get_or_create(username=settings.ANONYMOUS_USER_NAME)
    # guardian made this user with a random unusable password and "now": make both seeded.
    anonymous.password = "!" + "".join(texts.rng.choice("abcdefXYZ0123") for _ in range(40))
    anonymous.date_joined = texts.moment(2015, 2016)
    anonymous.save()
    specs = [
        ("admin", dict(is_superuser=True, is_staff=True, email="admin@example.org")),
        ("consumer", dict(is_active=True, first_name="Consumer")),
        ("alice", dict(first_name="Alice \"Al\"", last_name="O'Neil", email="alice@example.org")),
        ("bob", dict(first_name="Bob", last_name="Ünal 🦄", is_active=False)),
        ("zoë-测试", dict(first_name="Zoë", last_name="测试\\back", email="zoe@example.org")),
    ]
    people.users.append(anonymous)
    for username, extra in specs:
        user = User(username=username, **extra)
        user.date_joined = texts.moment(2015, 2020)
        user.last_login = texts.moment(2021, 2026) if texts.rng.random() < 0.7 else None
        # A fixed hash: real hashing would cost time for nothing and vary between runs.
        user.password = f"pbkdf2_sha256$1000000$seed{len(username)}$" + "A" * 43 + "="
        user.save()
        people.users.append(user)

    for index, name in enumerate(["Accounting", "Family 👪", "readers \"quoted\""]):
        group = Group.objects.create(name=f"{name} {index}")
        people.groups.append(group)

    perms = list(Permission.objects.order_by("content_type__app_label", "codename"))
    rng = texts.rng
    for group in people.groups:
        group.permissions.set(rng.sample(perms, k=min(len(perms), rng.randint(3, 12))))
    for user in people.users[1:]:
        user.groups.set(rng.sample(people.groups, k=rng.randint(0, len(people.groups))))
        user.user_permissions.set(rng.sample(perms, k=min(len(perms), rng.randint(0, 6))))

    for user in people.users:
        UiSettings.objects.create(user=user, settings={
            "language": rng.choice(["en-US", "de-DE", "zh-CN"]),
            "dark_mode": {"use_system": False, "enabled": "true", "thumb_inverted": 1.5},
            "saved_views": {"warn_on_unsaved_change": True, "dashboard_views_visible_ids": []},
            "note": texts.fragment(),
        })
    return people


def seed_social(texts: Texts, people: People) -> None:
    """Social apps, accounts, tokens (secrets) and MFA authenticators, also for the excluded."""
    rng = texts.rng
    apps = [
        SocialApp.objects.create(
            provider="openid_connect", provider_id="keycloak", name="Keycloak 🔑",
            client_id="paperless-client", secret="s3cr3t\\\"app", key="",
            settings={"server_url": "https://id.example.org/realms/x", "scale": 0.1},
        ),
        SocialApp.objects.create(
            provider="github", name="GitHub", client_id="gh-123", secret="", key="k",
        ),
    ]
    owners = [people.by_name(name) for name in ("alice", "admin", *EXCLUDED)]
    for index, user in enumerate(owners):
        for app in apps[: 1 + index % 2]:
            account = SocialAccount.objects.create(
                user=user, provider=app.provider, uid=f"uid-{index}-{app.pk}-ü",
                extra_data={"email": f"{user.username}@example.org", "nested": texts.nested_json()},
            )
            SocialToken.objects.create(
                app=app if index != 1 else None, account=account,
                token=f"token-{index}-{app.pk}-" + "x" * rng.randint(10, 80),
                token_secret="" if index == 0 else f"secret \"{index}\" 🔒",
                expires_at=texts.moment() if index % 2 else None,
            )
    kinds = ["totp", "recovery_codes", "webauthn"]
    for index, user in enumerate(owners):
        kind = kinds[index % len(kinds)]
        data = {
            "totp": {"secret": "JBSWY3DPEHPK3PXP"},
            "recovery_codes": {"seed": "a" * 40, "used_mask": 3},
            "webauthn": {"name": "Key 🔑", "credential": {"id": "abc", "counter": 1.5}},
        }[kind]
        authenticator = Authenticator.objects.create(user=user, type=kind, data=data)
        Authenticator.objects.filter(pk=authenticator.pk).update(
            created_at=texts.moment(), last_used_at=texts.moment() if index % 2 else None,
        )
    # last_login and date_joined are auto_now fields: fix them afterwards so runs agree.
    for account in SocialAccount.objects.order_by("pk"):
        SocialAccount.objects.filter(pk=account.pk).update(
            last_login=texts.moment(2022, 2026), date_joined=texts.moment(2015, 2021),
        )

