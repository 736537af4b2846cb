"""Sums of option weights in calculatedExpression (instruments.calculated).

Expected totals are added up by hand from the ordinalValue weights written in the files:
the SDC PHQ-9 example (HL7/sdc questionnaire-sdc-profile-example-PHQ9.json: Not at all 0,
Several days 1, More than half the days 2, Nearly every day 3; PHQ-9 total 0-27 as in
Kroenke, Spitzer & Williams 2001, J Gen Intern Med 16:606) and the all-types fixture.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

from instruments import load_file
from instruments.calculated import calculated_values, ordinal_sum_items
from instruments.fhir import FhirImportWarning
from instruments.fhir_import import from_questionnaire, read_questionnaire
from instruments.loader import build

HERE = Path(__file__).resolve().parent
PHQ9 = (
    HERE.parent / "fixtures" / "fhir" / "corpus" / "sdc-questionnaire-sdc-profile-example-PHQ9.json"
)


def _phq9():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FhirImportWarning)
        return build(from_questionnaire(read_questionnaire(PHQ9), language="en"))


def test_the_sdc_phq9_total_is_the_sum_of_the_ordinal_values():
    inst = _phq9()
    total = inst.item("H1_TS")
    questions = [f"H1_T1_Q{n}" for n in range(1, 10)]
    assert ordinal_sum_items(inst, total) == tuple(questions)
    codes = ["Not-at-all", "Several-days", "More than half the days", "Nearly every day"]
    # weights 0,1,2,3,0,1,2,3,1 -> 13
    answers = dict(zip(questions, [codes[i] for i in (0, 1, 2, 3, 0, 1, 2, 3, 1)], strict=True))
    assert calculated_values(inst, answers) == {"H1_TS": 13.0}
    assert calculated_values(inst, {q: "Nearly every day" for q in questions}) == {"H1_TS": 27.0}


def test_nothing_answered_gives_no_value_not_zero():
    assert calculated_values(_phq9(), {}) == {"H1_TS": None}


def test_named_items_and_multi_select_answers():
    inst = load_file(HERE / "fixtures" / "all_types.yaml")
    expression = (
        "%resource.item.where(linkId='/44250-9').answer.value.ordinal() + "
        "%resource.item.where(linkId = 'symptoms').answer.value.ordinal()"
    )
    total = replace(inst.item("total"), calculated_expression=expression)
    inst = replace(inst, items=tuple(total if i.id == "total" else i for i in inst.items))
    assert ordinal_sum_items(inst, total) == ("mood", "symptoms")
    # mood LA6569-3 weighs 1; symptoms has no weights (count 0)
    assert calculated_values(inst, {"mood": "LA6569-3", "symptoms": ["a", "b"]}) == {"total": 1.0}


def test_other_expressions_are_kept_but_not_evaluated():
    inst = load_file(HERE / "fixtures" / "all_types.yaml")
    # all_types.yaml: "%resource.item.answer.value.ordinal().sum()" is a whole-response sum
    assert ordinal_sum_items(inst, inst.item("total")) == ("mood",)
    other = replace(inst.item("total"), calculated_expression="%a + %b")
    assert ordinal_sum_items(inst, other) is None
    assert ordinal_sum_items(inst, inst.item("mood")) is None
