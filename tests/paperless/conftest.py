"""The twins the paperless-ngx tests export from and import into.

Migrating and seeding a twin is the slow part, so the seeded twin is built once per test
process and only read by the tests; the empty one is for imports.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.paperless.twin import Twin, twin_site


@pytest.fixture(scope="session")
def twin(tmp_path_factory) -> Iterator[Twin]:
    """A migrated twin seeded with ``seed_twin --documents 40 --seed 7``; never written to."""
    with twin_site(tmp_path_factory.mktemp("twin")) as site:
        yield site


@pytest.fixture(scope="module")
def empty_twin(tmp_path_factory) -> Iterator[Twin]:
    """A freshly migrated twin with no data of its own, for imports."""
    with twin_site(tmp_path_factory.mktemp("empty-twin"), seed=False) as site:
        yield site
