"""The domain core (instruments, scoring) never imports Flask, SQLAlchemy or webapp."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules(package: str) -> list[str]:
    path = ROOT / package.replace(".", "/")
    names = [package]
    for info in pkgutil.walk_packages([str(path)], prefix=package + "."):
        if not info.name.endswith("__main__"):
            names.append(info.name)
    return names


def test_domain_core_does_not_import_web_or_database_layers():
    modules = _modules("instruments") + _modules("scoring")
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('flask', 'sqlalchemy', 'webapp', 'flask_sqlalchemy'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "", f"domain core pulled in: {out.stdout.strip()}"


def _imports(path: Path) -> set[str]:
    """Top-level and dotted names a module imports (from its syntax tree)."""
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _offending(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{p.relative_to(ROOT)} imports {name}"
        for p in paths
        for name in _imports(p)
        if name.split(".")[0] in forbidden
        or any(name.startswith(f + ".") for f in forbidden)
        or name in forbidden
    )


def test_instruments_never_import_scoring():
    assert _offending(sorted((ROOT / "instruments").rglob("*.py")), ("scoring", "webapp")) == []


def test_id_and_crypto_modules_stay_free_of_flask_and_models():
    paths = [ROOT / "webapp" / "national_id.py", ROOT / "webapp" / "crypto.py"]
    assert _offending(paths, ("flask", "sqlalchemy", "webapp.models", "webapp.extensions")) == []


def test_services_and_models_never_import_views():
    views = ("webapp.patient", "webapp.clinician", "webapp.admin", "webapp.api")
    paths = sorted((ROOT / "webapp" / "services").glob("*.py")) + [ROOT / "webapp" / "models.py"]
    assert _offending(paths, views) == []
