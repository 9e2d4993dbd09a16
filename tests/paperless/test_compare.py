"""The oracle comparison forgives exactly one difference: the order of tied many-to-many ids."""

from __future__ import annotations

import json

import pytest

from tests.paperless.compare import assert_same_bytes


def manifest(tags: list[int], title: str = "A") -> bytes:
    """A small manifest in paperless-ngx's layout: three tags, two named alike, one document."""
    records = [
        {"model": "documents.tag", "pk": 2, "fields": {"name": "Finance"}},
        {"model": "documents.tag", "pk": 6, "fields": {"name": "January"}},
        {"model": "documents.tag", "pk": 13, "fields": {"name": "Finance"}},
        {"model": "documents.document", "pk": 4, "fields": {"title": title, "tags": tags}},
    ]
    return json.dumps(records, indent=2).encode()


def test_same_bytes_pass():
    assert_same_bytes(manifest([2, 13, 6]), manifest([2, 13, 6]))


def test_ids_that_tie_on_name_may_swap():
    assert_same_bytes(manifest([13, 2, 6]), manifest([2, 13, 6]))


def test_a_mail_rules_tied_tags_may_swap_too():
    rule = {"model": "paperless_mail.mailrule", "pk": 1, "fields": {"assign_tags": [2, 13]}}

    def with_rule(tags: list[int]) -> bytes:
        records = json.loads(manifest([2, 13, 6]))
        records.append({**rule, "fields": {"assign_tags": tags}})
        return json.dumps(records, indent=2).encode()

    assert_same_bytes(with_rule([13, 2]), with_rule([2, 13]))
    with pytest.raises(AssertionError):
        assert_same_bytes(with_rule([13, 6]), with_rule([6, 13]))  # 6 and 13 do not tie


@pytest.mark.parametrize(
    "ours",
    [
        manifest([2, 6, 13]),  # 6 sorts after both "Finance" tags
        manifest([2, 13]),  # an id lost
        manifest([2, 13, 6], title="B"),  # another field differs
        manifest([2, 13, 6]).replace(b"  ", b" "),  # the layout differs
    ],
    ids=["not-a-tie", "missing-id", "other-field", "layout"],
)
def test_any_other_difference_fails(ours):
    with pytest.raises(AssertionError):
        assert_same_bytes(ours, manifest([2, 13, 6]))
