"""Each bundled instrument definition (instruments/*.yaml) and its scoring algorithm agree on
item ids and possible codes (the form's printed codes, docs/instruments.md)."""

import pytest

import instruments
from scoring import get, instrument_ids


def bundled():
    return {i: d for i, d in instruments.load_all().items() if i in instrument_ids()}


@pytest.mark.parametrize("instrument_id", instrument_ids())
def test_items_and_codes_agree(instrument_id):
    definitions = bundled()
    if instrument_id not in definitions:
        pytest.skip(f"instruments/{instrument_id}.yaml not bundled yet")
    algorithm = get(instrument_id)
    answerable = {
        item.id: item for item in definitions[instrument_id].items if item.type != "display"
    }
    assert set(answerable) == set(algorithm.items)
    for item_id, item in answerable.items():
        if item.options:
            codes = {o.code for o in item.options}
        else:
            codes = set(range(item.min, item.max + 1))
        assert codes == set(algorithm.codes[item_id]), item_id
