"""Newcomer points of issue #12 (point 12): `invite` says that a new link replaces the
earlier one, and the README's demo table and role table match the demo and the access
rules."""

from __future__ import annotations

from pathlib import Path

from tests.webapp import patient_support as support
from webapp.services.demo import DEMO_USERS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_invite_says_the_new_link_replaces_the_earlier_one(app):
    enrolled = support.setup_world(app)
    result = app.test_cli_runner().invoke(args=["invite", support.PATIENT_ID])
    assert result.exit_code == 0, result.output
    assert "replaces any earlier link" in result.output
    link = result.output.strip().splitlines()[0]
    client = app.test_client()
    assert client.get(f"/s/{enrolled.token}").status_code == 404  # the earlier link
    assert client.get(link.split("5000")[1]).status_code == 302


def test_readme_lists_every_demo_login_and_one_command_form():
    text = README.read_text(encoding="utf-8")
    for email, role, scope in DEMO_USERS:
        assert f"| {email} | {role} |" in text
    table = text.split("## Command line")[1].split("Schema changes only")[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert rows and all(
        line.startswith(("| `.venv/bin/flask --app wsgi", "| `.venv/bin/python -m"))
        for line in rows
    )
    assert "OPENPROM_BASE_URL=http://" in text and "--host 0.0.0.0" in text
    assert "| page | clinician | unit_lead | register_admin | methodologist | sysadmin |" in text
