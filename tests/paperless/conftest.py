"""The twins the paperless-ngx tests export from and import into.

Migrating and seeding a twin is the slow part, so each test process migrates one template that
every twin is copied from, and the seeded twin is built once per test process and only read by
the tests; the empty one is for imports.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.paperless.twin import Twin, TwinTemplate, twin_site, twin_template


@pytest.fixture(scope="session")
def migrated(tmp_path_factory) -> Iterator[TwinTemplate]:
    """A migrated twin database, never used but to copy twins from."""
    with twin_template(tmp_path_factory.mktemp("twin-template")) as template:
        yield template


@pytest.fixture(scope="session")
def twin(tmp_path_factory, migrated) -> Iterator[Twin]:
    """A migrated twin seeded with ``seed_twin --documents 40 --seed 7``; never written to."""
    with twin_site(tmp_path_factory.mktemp("twin"), migrated) as site:
        yield site


@pytest.fixture(scope="module")
def empty_twin(tmp_path_factory, migrated) -> Iterator[Twin]:
    """A freshly migrated twin with no data of its own, for imports."""
    with twin_site(tmp_path_factory.mktemp("empty-twin"), migrated, seed=False) as site:
        yield site
