"""UI translations: every message of the patient pages is translated, and the committed
.mo files match their .po sources."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "webapp" / "translations"


def _extracted(tmp_path: Path) -> set[str]:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(TRANSLATIONS / "babel.cfg"),
            "-k",
            "_l",
            "--no-location",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    return {m.id for m in read_po(pot.open("rb")) if m.id}


@pytest.mark.parametrize("lang", ["nb", "nn"])
def test_every_ui_message_is_translated_and_compiled(lang, tmp_path):
    po = read_po((TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb"))
    mo = read_mo((TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo").open("rb"))
    translated = {m.id: m.string for m in po if m.id}
    missing = _extracted(tmp_path) - {k for k, v in translated.items() if v}
    assert not missing, f"untranslated in {lang}: {sorted(missing)}"
    assert {m.id: m.string for m in mo if m.id} == translated, (
        "run: pybabel compile -d webapp/translations"
    )
