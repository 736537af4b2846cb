"""Adaptive administration of an item bank in the patient flow (issue 14, point 5).

The time point asks the synthetic demonstration bank adaptively (one item a page, chosen
by the CAT engine after each answer), then EQ-5D-5L as usual. Stored theta values are
checked against an EAP computed here from the bank file's GRM parameters.
"""

from __future__ import annotations

import csv
import functools
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from sqlalchemy import select

import instruments
from scoring.irt.bank import BANKS_DIR
from tests.webapp.adaptive_support import (
    BANK,
    answer_for,
    make_adaptive_world,
    shown_item,
)
from tests.webapp.patient_support import EQ5D_ANSWERS, idem_from
from webapp.extensions import db
from webapp.models import AdaptiveStep, Invitation, Response, Score
from webapp.services import adaptive


@functools.cache
def bank_file() -> dict:
    """The bank file as plain YAML (parameters and option codes, not through scoring.irt)."""
    return yaml.safe_load((BANKS_DIR / "demo-physical-function.yaml").read_text("utf-8"))


def reference_eap(answers: list[tuple[str, int]]) -> tuple[float, float]:
    """EAP theta and posterior SD under Samejima's graded response model (Samejima 1969,
    Psychometrika Monograph 17) with a N(0, 1) prior on 61 equally spaced nodes on
    [-6, 6] (Bock & Mislevy 1982, Appl Psychol Meas 6:431, EAP by quadrature), written
    here from the bank file's parameters, independently of scoring.irt."""
    raw = bank_file()
    params = raw["irt"]["params"]
    codes = {item["id"]: [o["code"] for o in item["options"]] for item in raw["items"]}
    nodes = np.linspace(-6.0, 6.0, 61)
    log_post = -0.5 * nodes**2
    for item_id, code in answers:
        a, b = params[item_id]["a"], params[item_id]["b"]
        category = codes[item_id].index(code)
        star = np.vstack(
            [np.ones_like(nodes)]
            + [1 / (1 + np.exp(-a * (nodes - bk))) for bk in b]
            + [np.zeros_like(nodes)]
        )
        log_post = log_post + np.log(star[category] - star[category + 1])
    weights = np.exp(log_post - log_post.max())
    weights /= weights.sum()
    theta = float(weights @ nodes)
    return theta, float(math.sqrt(weights @ nodes**2 - theta**2))


def start(client, token: str) -> str:  # type: ignore[no-untyped-def]
    reply = client.post(f"/s/{token}/start", data={"mode": "self"})
    assert reply.status_code == 302
    return reply.headers["Location"]


def answer_bank(client, url: str) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    """Answer adaptive pages until the flow leaves the bank; (next URL, items shown)."""
    asked = []
    while f"/a/{BANK}" in url:
        page = client.get(url)
        assert page.status_code == 200
        item, step = shown_item(page.text)
        assert step == len(asked)
        asked.append(item)
        reply = client.post(url, data={item: str(answer_for(item)), "step": str(step)})
        assert reply.status_code == 302
        url = reply.headers["Location"]
    return url, asked


def answer_eq5d(client, token: str) -> None:  # type: ignore[no-untyped-def]
    for index, (item, value) in enumerate(EQ5D_ANSWERS.items()):
        page = client.get(f"/s/{token}/q/eq5d5l/{index}")
        assert page.status_code == 200
        client.post(
            f"/s/{token}/q/eq5d5l/{index}", data={item: str(value), "idem": idem_from(page.text)}
        )


def bank_response(invitation_id: int) -> Response:
    return db.session.scalars(
        select(Response).where(
            Response.invitation_id == invitation_id, Response.instrument_id == BANK
        )
    ).one()


def steps(invitation_id: int) -> list[AdaptiveStep]:
    return adaptive.steps_of(bank_response(invitation_id).id)


def test_adaptive_time_point_from_start_to_scores(app, client):
    with app.app_context():
        world = make_adaptive_world()
    url = start(client, world.token)
    assert url.endswith(f"/s/{world.token}/a/{BANK}")
    url, asked = answer_bank(client, url)
    assert url.endswith(f"/s/{world.token}/q/eq5d5l/0")  # the rest of the time point as usual
    assert 4 <= len(asked) <= 12 and len(set(asked)) == len(asked)
    answer_eq5d(client, world.token)
    review = client.get(f"/s/{world.token}/review")
    assert review.status_code == 200
    bank = instruments.load(BANK)
    first = bank.item(asked[0]).text.get_text("nb")
    assert first in review.text
    unasked = next(i for i in bank.item_ids if i not in asked)
    assert bank.item(unasked).text.get_text("nb") not in review.text  # only the items asked
    assert client.post(f"/s/{world.token}/submit").status_code == 302
    with app.app_context():
        rows = steps(world.invitation_id)
        answers = [(s.item_id, s.answer) for s in rows]
        assert [s.item_id for s in rows] == asked
        assert all(s.answer == answer_for(s.item_id) for s in rows)
        for k, step in enumerate(rows, start=1):  # stored theta = recomputed from answers
            theta, se = reference_eap(answers[:k])
            assert step.theta == pytest.approx(theta, abs=1e-9)
            assert step.se == pytest.approx(se, abs=1e-9)
        response = bank_response(world.invitation_id)
        assert response.status == "complete"
        assert response.instrument_hash == bank.content_hash
        assert response.instrument_version == bank.version
        assert response.answers == dict(answers)
        scores = {
            s.scale: s
            for s in db.session.scalars(select(Score).where(Score.response_id == response.id))
        }
        assert set(scores) == {"theta", "theta_se", "t_score", "t_score_se", "n_items"}
        theta, se = reference_eap(answers)
        assert scores["theta"].value == pytest.approx(theta, abs=1e-9)
        assert scores["theta_se"].value == pytest.approx(se, abs=1e-9)
        # the bank file's transform: T = 50 + 10 theta, SE on the T scale 10 * SE
        assert scores["t_score"].value == pytest.approx(50 + 10 * theta, abs=1e-8)
        assert scores["t_score_se"].value == pytest.approx(10 * se, abs=1e-8)
        assert scores["n_items"].value == len(asked)
        assert {s.algorithm_version for s in scores.values()} == {"irt-eap-1"}
        assert rows[-1].theta == scores["theta"].value
        # the engine stopped by its rule: SE <= 0.3 after >= 4 items, or 12 items
        assert (len(asked) >= 4 and rows[-1].se <= 0.3) or len(asked) == 12
        assert len(asked) == 4 or rows[-2].se > 0.3
        invitation = db.session.get(Invitation, world.invitation_id)
        assert invitation.completed_at is not None
    insight = client.get(f"/s/{world.token}")
    assert insight.status_code == 200
    t_text = f"{scores['t_score'].value:.3f}".rstrip("0").replace(".", ",")
    assert t_text in insight.text
    assert "T-skår" in insight.text and "Antall spørsmål stilt" in insight.text


def test_resume_shows_the_same_item_and_continues_where_the_patient_stopped(app, client):
    with app.app_context():
        world = make_adaptive_world()
    url = start(client, world.token)
    first = shown_item(client.get(url).text)
    assert shown_item(client.get(url).text) == first  # a reload: the same item
    item, step = first
    client.post(url, data={item: str(answer_for(item)), "step": "0"})
    second = shown_item(client.get(url).text)
    assert second[1] == 1 and second[0] != item
    other = app.test_client()  # the link opened again later (another device)
    reply = other.get(f"/s/{world.token}")
    assert reply.status_code == 302 and reply.headers["Location"].endswith(f"/a/{BANK}")
    assert shown_item(other.get(reply.headers["Location"]).text) == second
    with app.app_context():
        rows = steps(world.invitation_id)
        assert [(s.item_id, s.answer) for s in rows] == [
            (item, answer_for(item)),
            (second[0], None),
        ]
        assert rows[1].theta is None and rows[0].theta is not None


def test_bad_posts_are_refused_and_lose_nothing(app, client):
    with app.app_context():
        world = make_adaptive_world()
    url = start(client, world.token)
    item, _ = shown_item(client.get(url).text)
    client.post(url, data={item: str(answer_for(item)), "step": "0"})
    item, step = shown_item(client.get(url).text)
    with app.app_context():
        before = [(s.item_id, s.answer, s.theta) for s in steps(world.invitation_id)]
        revision = bank_response(world.invitation_id).revision
    for data in (
        {"step": str(step)},  # no answer
        {item: "9", "step": str(step)},  # not an option
        {item: "x", "step": str(step)},
        {item: "3", "step": "7"},  # not the open step
        {item: "3"},  # no step
    ):
        reply = client.post(url, data=data)
        assert reply.status_code == 422, data
        assert shown_item(reply.text) == (item, step)  # the same question again
        assert 'role="alert"' in reply.text
    assert client.post(url, data={item: "3", "step": str(step), "evil": "1"}).status_code == 400
    with app.app_context():
        assert [(s.item_id, s.answer, s.theta) for s in steps(world.invitation_id)] == before
        assert bank_response(world.invitation_id).revision == revision
    # and the patient can still answer it
    reply = client.post(url, data={item: "3", "step": str(step)})
    assert reply.status_code == 302
    with app.app_context():
        assert steps(world.invitation_id)[step].answer == 3


def test_double_submit_of_a_step_stores_one_step(app, client):
    with app.app_context():
        world = make_adaptive_world()
    url = start(client, world.token)
    item, _ = shown_item(client.get(url).text)
    first = client.post(url, data={item: "4", "step": "0"})
    again = client.post(url, data={item: "4", "step": "0"})  # the same post, sent twice
    other = client.post(url, data={item: "2", "step": "0"})  # a second tab, another answer
    assert first.status_code == again.status_code == other.status_code == 302
    with app.app_context():
        rows = steps(world.invitation_id)
        assert [(s.position, s.item_id, s.answer) for s in rows[:1]] == [(0, item, 4)]
        assert len(rows) == 2 and rows[1].answer is None
        response = bank_response(world.invitation_id)
        assert response.answers == {item: 4}
        assert response.revision == 1


def test_submit_before_the_bank_is_complete_is_refused(app, client):
    with app.app_context():
        world = make_adaptive_world()
    url = start(client, world.token)
    item, _ = shown_item(client.get(url).text)
    client.post(url, data={item: "4", "step": "0"})
    reply = client.post(f"/s/{world.token}/submit")
    assert reply.status_code == 302
    assert client.get(reply.headers["Location"]).status_code in (200, 302)
    assert client.get(f"/s/{world.token}/review").headers["Location"].endswith(f"/a/{BANK}")
    with app.app_context():
        assert db.session.get(Invitation, world.invitation_id).completed_at is None
        assert bank_response(world.invitation_id).status == "draft"
        assert db.session.scalars(select(Score)).all() == []


def test_an_item_page_works_without_javascript_and_in_nynorsk(app, client):
    with app.app_context():
        world = make_adaptive_world()
    url = start(client, world.token)
    page = client.get(url + "?lang=nn")
    assert page.status_code == 200
    assert "<script" not in page.text.split("<main")[-1]  # nothing needed in the page body
    item, _ = shown_item(page.text)
    bank = instruments.load(BANK)
    assert bank.item(item).text.get_text("nn") in page.text
    assert 'type="radio"' in page.text and 'type="submit"' in page.text
    assert "Spørsmål 1 (høgst 12)" in page.text


def test_clinician_patient_page_and_export_show_the_adaptive_result(app, client, tmp_path):
    from webapp.models import RoleAssignment, Unit, User
    from webapp.services.auth import start_session
    from webapp.services.export import export_register

    with app.app_context():
        world = make_adaptive_world()
    url, asked = answer_bank(client, start(client, world.token))
    answer_eq5d(client, world.token)
    assert client.post(f"/s/{world.token}/submit").status_code == 302
    with app.app_context():
        unit = db.session.scalars(select(Unit)).one()
        user = User(email="clin@unit.test", display_name="Clin", password_hash="x")
        user.roles.append(RoleAssignment(role="clinician", unit_id=unit.id))
        db.session.add(user)
        db.session.commit()
        token = start_session(user, None)
        t_score = db.session.scalars(select(Score).where(Score.scale == "t_score")).one().value
    staff = app.test_client()
    staff.set_cookie("openprom_session", token)
    page = staff.get(f"/clinician/patients/{world.patient_id}")
    assert page.status_code == 200
    assert "T-skår" in page.text and "SE (T-skår)" in page.text
    assert "Antall spørsmål stilt" in page.text
    assert f"{t_score:.1f}".replace(".", ",") in page.text or f"{t_score:.1f}" in page.text
    assert staff.get(f"/clinician/patients/{world.patient_id}/summary").status_code == 200
    with app.app_context():
        result = export_register("reg", tmp_path / "out", formats=("csv",))
    bank_file = next(p for p in map(str, result.files) if BANK in p and p.endswith(".csv"))
    text = Path(bank_file).read_text(encoding="utf-8")
    assert "t_score" in text and "theta_se" in text and "n_items" in text
    assert asked[0] in text
    steps_file = next(p for p in result.files if Path(p).name == "adaptive_steps.csv")
    with Path(steps_file).open(encoding="utf-8") as fh:
        exported = list(csv.DictReader(fh))
    assert [r["item_id"] for r in exported] == asked
    assert [int(r["position"]) for r in exported] == list(range(len(asked)))
    with app.app_context():
        stored = steps(world.invitation_id)
    for row, step in zip(exported, stored, strict=True):
        assert int(row["answer"]) == step.answer
        assert float(row["theta"]) == step.theta and float(row["se"]) == step.se
    assert "17845810001" not in "".join(Path(p).read_text("utf-8") for p in result.files)


def test_verify_scores_rechecks_an_adaptive_response(app, client):
    from webapp.services.integrity import verify_scores

    with app.app_context():
        world = make_adaptive_world()
    answer_bank(client, start(client, world.token))
    answer_eq5d(client, world.token)
    assert client.post(f"/s/{world.token}/submit").status_code == 302
    with app.app_context():
        report = verify_scores()
        assert report.checked == 2 and report.mismatches == [] and report.not_checkable == {}
        row = db.session.scalars(select(Score).where(Score.scale == "t_score")).one()
        row.value += 0.5  # a stored T-score that no longer matches the stored answers
        db.session.commit()
        report = verify_scores()
        assert len(report.mismatches) == 1
        assert "t_score" in str(report.mismatches[0])
        row = db.session.scalars(select(Score).where(Score.scale == "t_score")).one()
        row.value -= 0.5  # (verify_scores detached the row read before)
        step = steps(world.invitation_id)[1]
        step.theta += 0.01  # a stored step no longer matching the answers up to it
        db.session.commit()
        (mismatch,) = verify_scores().mismatches
        assert len(mismatch.problems) == 1
        assert f"steps 1 ({step.item_id})" in mismatch.problems[0]


def test_start_page_and_progress_count_the_items_asked(app, client):
    with app.app_context():
        world = make_adaptive_world()
    start_page = client.get(f"/s/{world.token}/start")
    assert "Det er 18 korte" in start_page.text  # at most 12 adaptive items + 6 EQ-5D pages
    url, asked = answer_bank(client, start(client, world.token))
    n = len(asked)
    first_eq5d = client.get(url)
    assert f"Side {n + 1} av {n + 6}" in first_eq5d.text  # the items asked, then EQ-5D-5L


def test_a_bank_after_a_fixed_form_and_then_the_review(app, client):
    with app.app_context():
        world = make_adaptive_world(instruments=("eq5d5l", BANK))
    url = start(client, world.token)
    assert url.endswith("/q/eq5d5l/0")
    assert "Side 1 av 18" in client.get(url).text  # 6 EQ-5D pages + at most 12 items
    answer_eq5d(client, world.token)
    reply = client.get(f"/s/{world.token}")
    assert reply.headers["Location"].endswith(f"/a/{BANK}")
    url, asked = answer_bank(client, reply.headers["Location"])
    assert url.endswith("/review")
    assert client.post(f"/s/{world.token}/submit").headers["Location"].endswith("/thanks")
    with app.app_context():
        response = bank_response(world.invitation_id)
        assert response.status == "complete" and list(response.answers) == asked


def test_a_post_without_its_csrf_token_stores_nothing(tmp_path):
    from tests.conftest import make_app
    from tests.webapp.patient_support import csrf_from

    app = make_app(f"sqlite:///{tmp_path / 'a.sqlite'}", tmp_path / "i", WTF_CSRF_ENABLED=True)
    with app.app_context():
        world = make_adaptive_world()
    client = app.test_client()
    first = client.get(f"/s/{world.token}/start")
    reply = client.post(
        f"/s/{world.token}/start", data={"mode": "self", "csrf_token": csrf_from(first.text)}
    )
    url = reply.headers["Location"]
    page = client.get(url)
    item, step = shown_item(page.text)
    refused = client.post(url, data={item: "3", "step": str(step)})  # no token
    assert refused.status_code == 400
    with app.app_context():
        assert [s.answer for s in steps(world.invitation_id)] == [None]
    token = csrf_from(page.text)
    accepted = client.post(url, data={item: "3", "step": str(step), "csrf_token": token})
    assert accepted.status_code == 302
    with app.app_context():
        assert steps(world.invitation_id)[0].answer == 3
        db.engine.dispose()


def grm_information(item_id: str, theta: float) -> float:
    """Fisher information of a GRM item at ``theta``: sum over categories of
    P_k'(theta)^2 / P_k(theta), with P*' = a P* (1 - P*) (Samejima 1969; Baker & Kim 2004,
    Item Response Theory, 2nd ed., ch. 8), from the bank file's parameters."""
    raw = bank_file()
    a, b = raw["irt"]["params"][item_id]["a"], raw["irt"]["params"][item_id]["b"]
    star = [1.0] + [1 / (1 + math.exp(-a * (theta - bk))) for bk in b] + [0.0]
    slope = [a * p * (1 - p) for p in star]
    return sum(
        (slope[k] - slope[k + 1]) ** 2 / (star[k] - star[k + 1]) for k in range(len(star) - 1)
    )


def test_protocol_settings_drive_the_flow(app, client):
    """max_info without randomesque: each item is the most informative item left at the
    EAP after the answers before it (at start_theta first); min = max = 6 items."""
    settings = {"start_theta": 0.5, "select": "max_info", "exposure": "none"}
    with app.app_context():
        world = make_adaptive_world(adaptive={**settings, "min_items": 6, "max_items": 6})
    url, asked = answer_bank(client, start(client, world.token))
    assert len(asked) == 6
    bank = instruments.load(BANK)
    with app.app_context():
        rows = steps(world.invitation_id)
    at = 0.5
    for k, item in enumerate(asked):
        left = [i for i in bank.item_ids if i not in asked[:k]]
        assert item == max(left, key=lambda i: grm_information(i, at)), k
        at = rows[k].theta


def test_unit_dashboard_and_its_csv_take_an_adaptive_response(app, client):
    from webapp.models import RoleAssignment, Unit, User
    from webapp.services.auth import start_session

    with app.app_context():
        world = make_adaptive_world()
    answer_bank(client, start(client, world.token))
    answer_eq5d(client, world.token)
    assert client.post(f"/s/{world.token}/submit").status_code == 302
    with app.app_context():
        unit = db.session.scalars(select(Unit)).one()
        user = User(email="lead@unit.test", display_name="Lead", password_hash="x")
        user.roles.append(RoleAssignment(role="unit_lead", unit_id=unit.id))
        db.session.add(user)
        db.session.commit()
        token = start_session(user, None)
    staff = app.test_client()
    staff.set_cookie("openprom_session", token)
    page = staff.get("/clinician/units/unit-1/dashboard")
    assert page.status_code == 200
    assert bank_title() in page.text
    table = staff.get("/clinician/units/unit-1/dashboard.csv")
    assert table.status_code == 200 and "t_score" in table.text


def bank_title() -> str:
    return instruments.load(BANK).title.get_text("nb")


@pytest.mark.parametrize("erase", [False, True])
def test_withdrawn_patients_steps_are_not_exported_and_erasure_removes_them(
    app, client, tmp_path, erase
):
    from webapp.models import AdaptiveStep, Patient, Register
    from webapp.services.export import export_register
    from webapp.services.withdrawal import withdraw

    with app.app_context():
        world = make_adaptive_world()
    answer_bank(client, start(client, world.token))
    answer_eq5d(client, world.token)
    assert client.post(f"/s/{world.token}/submit").status_code == 302
    with app.app_context():
        register = db.session.scalars(select(Register)).one()
        withdraw(db.session.get(Patient, world.patient_id), register, erase=erase)
        db.session.commit()
        result = export_register("reg", tmp_path / "out", formats=("csv",))
        assert "adaptive_steps.csv" not in {p.name for p in map(Path, result.files)}
        left = db.session.scalars(select(AdaptiveStep)).all()
        assert (left == []) is erase
