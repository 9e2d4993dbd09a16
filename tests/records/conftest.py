"""Fixtures of the record tests."""

import pytest

from documents.generator import generate_archive


@pytest.fixture
def archive(media):
    """150 generated documents, without files."""
    generate_archive(documents=150, seed=11, with_files=False)
