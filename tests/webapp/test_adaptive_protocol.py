"""The protocol's ``adaptive:`` block (issue 14, point 5): checked when a protocol is
defined or loaded from a register file, stored with the protocol, used by the flow."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from tests.webapp.adaptive_support import ADAPTIVE, BANK
from webapp.extensions import db
from webapp.models import Protocol, Register
from webapp.services import adaptive
from webapp.services.protocols import ProtocolError, TimePointSpec, define_protocol

REGISTER_FILE = {
    "register": {"name": "cat-register", "title": "CAT-register"},
    "units": [{"name": "unit-x", "title": "Sykehus X"}],
    "protocols": [
        {
            "name": "pf-cat",
            "title": "Fysisk funksjon (adaptiv)",
            "adaptive": {"stop_se": 0.32, "max_items": 8, "min_items": 3, "select": "kl"},
            "time_points": [
                {
                    "name": "baseline",
                    "title": "Før",
                    "offset_days": 0,
                    "instruments": [BANK, "eq5d5l"],
                }
            ],
        }
    ],
}


@pytest.mark.parametrize(
    ("block", "instruments", "message"),
    [
        ({"stop_se": 0.3, "max_itmes": 12}, (BANK,), "unknown adaptive settings ['max_itmes']"),
        ({"select": "random"}, (BANK,), "select must be 'max_info' or 'kl'"),
        ({"min_items": 13, "max_items": 12}, (BANK,), "need 1 <= min_items <= max_items"),
        ({"exposure": "sympson-hetter"}, (BANK,), "exposure must be"),
        ({"stop_se": 0.3}, ("eq5d5l",), "no time point asks an item bank"),
    ],
)
def test_bad_adaptive_blocks_are_refused_with_the_reason(app, block, instruments, message):
    with app.app_context():
        register = Register(name="r", title="R")
        db.session.add(register)
        db.session.flush()
        points = [TimePointSpec("baseline", "Før", 0, instruments)]
        with pytest.raises(ProtocolError) as caught:
            define_protocol(register, "p", "P", points, adaptive=block)
        assert message in str(caught.value)


def test_a_protocol_without_the_block_asks_with_the_engine_defaults(app):
    with app.app_context():
        register = Register(name="r", title="R")
        db.session.add(register)
        db.session.flush()
        protocol = define_protocol(register, "p", "P", [TimePointSpec("b", "B", 0, (BANK,))])
        settings = adaptive.settings_of(protocol)
        # the values: stop_se 0.3, max_items 12, min_items 4, randomesque
        assert (settings.stop_se, settings.max_items, settings.min_items) == (0.3, 12, 4)
        assert (settings.select, settings.exposure, settings.start_theta) == (
            "max_info",
            "randomesque",
            0.0,
        )
        stored = define_protocol(
            register, "q", "Q", [TimePointSpec("b", "B", 0, (BANK,))], adaptive=dict(ADAPTIVE)
        )
        assert stored.adaptive == ADAPTIVE


def test_register_file_with_an_adaptive_block(app, tmp_path: Path):
    data = copy.deepcopy(REGISTER_FILE)
    path = tmp_path / "register.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["load-register", str(path)])
    assert first.exit_code == 0, first.output
    assert "created protocol pf-cat" in first.output
    with app.app_context():
        protocol = db.session.query(Protocol).filter_by(name="pf-cat").one()
        settings = adaptive.settings_of(protocol)
        assert (settings.stop_se, settings.max_items, settings.min_items) == (0.32, 8, 3)
        assert settings.select == "kl"
    assert runner.invoke(args=["load-register", str(path)]).output.strip() == "nothing to change"
    data["protocols"][0]["adaptive"]["max_items"] = 10  # patients follow the old one
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    changed = runner.invoke(args=["load-register", str(path)])
    assert changed.exit_code != 0 and "adaptive settings" in changed.output
