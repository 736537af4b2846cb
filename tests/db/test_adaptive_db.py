"""Adaptive (item-bank) steps on SQLite and PostgreSQL: concurrent posts of the same step
store one answer, concurrent first views store one chosen item, a post racing the final
submit never changes what was scored, and every stored theta equals the theta recomputed
from the stored answers (issue 14, point 5)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa

import instruments
from tests.webapp.adaptive_support import BANK, answer_for, make_adaptive_world, shown_item
from tests.webapp.patient_support import EQ5D_ANSWERS
from webapp.extensions import db
from webapp.models import AdaptiveStep, Invitation, Response, Score
from webapp.services import adaptive


def _app(database_url, app_factory):  # type: ignore[no-untyped-def]
    options: dict[str, object] = {"pool_pre_ping": True}
    if database_url.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30}
    return app_factory(database_url, WTF_CSRF_ENABLED=False, SQLALCHEMY_ENGINE_OPTIONS=options)


def _at_once(jobs: list[Callable[[], object]]) -> list[object]:
    """Run every job in its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = jobs[index]()
        except Exception as exc:  # noqa: BLE001 (asserted by the caller)
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _steps(app, invitation_id: int) -> list[tuple[int, str, int | None]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return [
            (s.position, s.item_id, s.answer)
            for s in db.session.scalars(
                sa.select(AdaptiveStep)
                .join(Response, Response.id == AdaptiveStep.response_id)
                .where(Response.invitation_id == invitation_id)
                .order_by(AdaptiveStep.position)
            )
        ]


def test_concurrent_views_and_posts_of_a_step_store_one_step(database_url, app_factory):
    app = _app(database_url, app_factory)
    with app.app_context():
        world = make_adaptive_world()
    url = f"/s/{world.token}/a/{BANK}"
    assert (
        app.test_client().post(f"/s/{world.token}/start", data={"mode": "self"}).status_code == 302
    )
    shown = _at_once([lambda: app.test_client().get(url).text for _ in range(6)])
    items = {shown_item(text) for text in shown}  # type: ignore[arg-type]
    assert len(items) == 1  # six first views at once: one chosen item, stored once
    ((item, step),) = items
    assert _steps(app, world.invitation_id) == [(0, item, None)]
    posts = _at_once(
        [
            lambda code=code: app.test_client().post(url, data={item: str(code), "step": "0"})
            for code in (4, 4, 4, 2, 2, 5)
        ]
    )
    assert all(getattr(p, "status_code", None) == 302 for p in posts), posts
    rows = _steps(app, world.invitation_id)
    assert len(rows) == 2 and rows[0][:2] == (0, item) and rows[0][2] in (4, 2, 5)
    assert rows[1][0] == 1 and rows[1][2] is None  # exactly one next step
    with app.app_context():
        response = db.session.scalars(
            sa.select(Response).where(Response.instrument_id == BANK)
        ).one()
        assert response.revision == 1  # one answer stored, once
        assert response.answers == {item: rows[0][2]}


def test_full_adaptive_time_point_and_recomputed_thetas(database_url, app_factory):
    app = _app(database_url, app_factory)
    with app.app_context():
        world = make_adaptive_world()
    client = app.test_client()
    url = client.post(f"/s/{world.token}/start", data={"mode": "self"}).headers["Location"]
    while f"/a/{BANK}" in url:
        item, step = shown_item(client.get(url).text)
        url = client.post(url, data={item: str(answer_for(item)), "step": str(step)}).headers[
            "Location"
        ]
    for index, (item, value) in enumerate(EQ5D_ANSWERS.items()):
        client.post(f"/s/{world.token}/q/eq5d5l/{index}", data={item: str(value)})
    last = _steps(app, world.invitation_id)[-1]
    # a late post of the last step racing the final submit: one of them, never both halves
    late, submitted = _at_once(
        [
            lambda: client.post(
                f"/s/{world.token}/a/{BANK}", data={last[1]: "1", "step": str(last[0])}
            ),
            lambda: app.test_client().post(f"/s/{world.token}/submit"),
        ]
    )
    assert getattr(submitted, "status_code", None) == 302
    assert getattr(late, "status_code", None) in (302, 409)  # never stored over the answer
    assert _steps(app, world.invitation_id)[-1] == last
    with app.app_context():
        assert db.session.get(Invitation, world.invitation_id).completed_at is not None
        response = db.session.scalars(
            sa.select(Response).where(Response.instrument_id == BANK)
        ).one()
        bank = instruments.load(BANK)
        settings = adaptive.settings_for_protocol_id(world.protocol_id)
        checks = adaptive.recompute_steps(response.id, bank, settings)
        assert len(checks) == len(response.answers) >= 4
        for check in checks:
            assert check.stored_theta == pytest.approx(check.theta, abs=1e-12)
            assert check.stored_se == pytest.approx(check.se, abs=1e-12)
        scores = {
            s.scale: s.value
            for s in db.session.scalars(sa.select(Score).where(Score.response_id == response.id))
        }
        assert scores["theta"] == pytest.approx(checks[-1].stored_theta, abs=1e-12)
        assert scores["n_items"] == len(checks)
        assert {i: c for i, c in response.answers.items()} == {c.item_id: c.answer for c in checks}
