"""The read ledger against a plain Python reckoning of the same records, references and names."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.readback import ledger as ledger_module
from exporter.readback.ledger import ReadLedger

MODELS = ["a.one", "a.two", "b.three"]
# Keys that compare alike in Python but not as text, and keys that are neither int nor str.
KEYS = st.one_of(
    st.integers(-3, 40), st.sampled_from(["1", "2", "x", "é", True, False, 1.0, 2.5, None, [1, 2]])
)


def _text(pk):
    return pk if isinstance(pk, str) else str(pk)


def _reckoned(steps):
    """What the ledger must answer, reckoned with Python sets of the keys as text."""
    records, refs, at = [], [], -1
    for kind, model, pk in steps:
        if kind == "record":
            at += 1
            records.append((model, _text(pk), at))
        elif at >= 0:
            refs.append((model, _text(pk), at))
    origin = {at: (model, pk) for model, pk, at in records}
    present = {(model, pk) for model, pk, _ in records}
    dangling = [(m, pk, at, *origin[at]) for m, pk, at in refs if (m, pk) not in present]
    seen, duplicates = set(), []
    for model, pk, at in records:
        if (model, pk) in seen:
            duplicates.append((model, pk, at))
        seen.add((model, pk))
    return dangling, duplicates


def _replayed(steps):
    ledger = ReadLedger()
    try:
        at = -1
        for kind, model, pk in steps:
            if kind == "record":
                at += 1
                ledger.add_record(model, pk, at)
            elif at >= 0:
                ledger.add_refs([(model, pk, at)])
        return list(ledger.dangling()), list(ledger.duplicates())
    finally:
        ledger.close()


STEPS = st.lists(
    st.tuples(st.sampled_from(["record", "ref"]), st.sampled_from(MODELS), KEYS), max_size=120
)


@pytest.mark.parametrize("per_model, in_all", [(2_000, 10_000), (3, 5), (0, 0)])
def test_references_are_settled_as_the_reckoning_says(monkeypatch, per_model, in_all):
    """With room for every key, for a few, or for none, the ledger's answers do not change."""
    monkeypatch.setattr(ledger_module, "_KNOWN_PER_MODEL", per_model)
    monkeypatch.setattr(ledger_module, "_KNOWN_IN_ALL", in_all)

    @settings(max_examples=300, deadline=None)
    @given(STEPS)
    def check(steps):
        dangling, duplicates = _replayed(steps)
        expected_dangling, expected_duplicates = _reckoned(steps)
        assert sorted(map(str, dangling)) == sorted(map(str, expected_dangling))
        assert duplicates == expected_duplicates

    check()


def test_a_reference_to_a_key_alike_in_python_only_dangles():
    """``True == 1`` and ``1.0 == 1`` in Python, but the export's keys are compared as text."""
    ledger = ReadLedger()
    try:
        ledger.add_record("a.one", 1, 0)
        ledger.add_refs([("a.one", True, 0), ("a.one", 1.0, 0), ("a.one", 1, 0), ("a.one", "1", 0)])
        assert sorted(pk for _, pk, *_ in ledger.dangling()) == ["1.0", "True"]
    finally:
        ledger.close()


def test_names_the_export_holds_twice_are_shared():
    ledger = ReadLedger()
    try:
        for at in range(3):
            ledger.add_record("a.one", at, at)
        ledger.add_name("originals/x.pdf", None)
        ledger.add_name("originals/x.pdf", 1)
        ledger.add_name("originals/x.pdf", 2)
        ledger.add_name("originals/y.pdf", 0)
        assert list(ledger.shared_names()) == [("originals/x.pdf", 2, "a.one", "2")]
        assert ledger.has_name("originals/x.pdf") and not ledger.has_name("originals/z.pdf")
    finally:
        ledger.close()
