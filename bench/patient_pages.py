"""Render every patient page of a walk through EQ-5D-5L + ODI into files, to compare.

    python bench/patient_pages.py OUTDIR [DATABASE_URL]
    diff -r before/ after/

For performance work that must not change what patients see: three patients (UI language
bokmål, nynorsk, English) open the start page, send it empty (422), then each question
page (shown, sent with an invalid answer: 422, saved, shown again with the saved answer),
the review and a dead link. The CSRF token and idempotency key (random) are replaced by
placeholders; token URLs are fixed. Prints the SQL statements per question page GET and
POST (min, max).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from webapp.crypto import generate_key, token_hash  # noqa: E402

for _key in ("OPENPROM_SECRET_KEY", "OPENPROM_ID_KEY", "OPENPROM_PSEUDONYM_KEY"):
    os.environ.setdefault(_key, generate_key())

PATIENTS = ("17845810001", "30908299902", "41819077906")  # synthetic (tests' numbers)


def _normalised(html: str) -> str:
    html = re.sub(r'(name="csrf_token" (?:type="hidden" )?value=")[^"]+', r"\1CSRF", html)
    return re.sub(r'(name="idem" type="hidden" value=")[0-9a-f]+', r"\1IDEM", html)


def main(argv: list[str]) -> int:
    """Write the pages into ``argv[0]`` (database: ``argv[1]`` or a fresh SQLite file)."""
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="openprom-pages-")
    os.environ["OPENPROM_DATABASE_URL"] = argv[1] if len(argv) > 1 else f"sqlite:///{tmp}/p.db"
    os.environ["OPENPROM_INSTANCE_PATH"] = tmp
    import flask_migrate
    from sqlalchemy import event

    from tests.webapp import patient_support as support
    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import Invitation

    app = create_app({"SESSION_COOKIE_SECURE": False})
    statements: list[str] = []
    tokens = []
    with app.app_context():
        flask_migrate.upgrade()
        support.make_protocol()
        for index, number in enumerate(PATIENTS):
            invitation = db.session.get(Invitation, support.enrol_patient(number).invitation_id)
            tokens.append(f"fixed-link-{index}-xxxxxxxxxxxx")
            invitation.token_hash = token_hash(tokens[-1])
            db.session.commit()
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    counts: dict[str, list[int]] = {"GET": [], "POST": []}

    def keep(name: str, response: Any) -> None:
        text = f"{response.status_code}\n{_normalised(response.get_data(as_text=True))}"
        (out / f"{name}.html").write_text(text, encoding="utf-8")

    for lang, token in zip(("nb", "nn", "en"), tokens, strict=True):
        client = app.test_client()
        client.set_cookie("openprom_lang", lang)
        keep(f"{lang}-start", client.get(f"/s/{token}/start"))
        csrf = support.csrf_from(client.get(f"/s/{token}/start").text)
        keep(f"{lang}-start-422", client.post(f"/s/{token}/start", data={"csrf_token": csrf}))
        client.post(f"/s/{token}/start", data={"mode": "self", "csrf_token": csrf})
        for instrument, answers in (("eq5d5l", support.EQ5D_ANSWERS), ("odi", support.ODI_ANSWERS)):
            for page, (item, value) in enumerate(answers.items()):
                url = f"/s/{token}/q/{instrument}/{page}"
                statements.clear()
                shown = client.get(url)
                counts["GET"].append(len(statements))
                keep(f"{lang}-{instrument}-{page}", shown)
                form = {
                    "csrf_token": support.csrf_from(shown.text),
                    "idem": support.idem_from(shown.text),
                }
                keep(f"{lang}-{instrument}-{page}-422", client.post(url, data={**form, item: "x"}))
                statements.clear()
                saved = client.post(url, data={**form, item: str(value)})
                counts["POST"].append(len(statements))
                if saved.status_code != 302:
                    raise SystemExit(f"{url}: saving answered {saved.status_code}")
                keep(f"{lang}-{instrument}-{page}-saved", client.get(f"{url}?ret=review"))
        keep(f"{lang}-review", client.get(f"/s/{token}/review"))
        keep(f"{lang}-dead-link", client.get("/s/no-such-link-xxxxxxxxxxxx"))
    print(
        "SQL statements per request (min, max):",
        json.dumps({k: [min(v), max(v)] for k, v in counts.items()}),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
