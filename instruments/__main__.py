"""Command line: ``python -m instruments list|validate|fhir|from-fhir``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from instruments.loader import InstrumentError, definition_files, load_all, load_file


def _cmd_list(_: argparse.Namespace) -> int:
    rows = [("id", "version", "kind", "languages", "items", "file")]
    for inst in sorted(load_all().values(), key=lambda i: i.id):
        rows.append(
            (
                inst.id,
                inst.version,
                inst.kind,
                ",".join(inst.languages),
                str(len(inst.questions)),
                Path(inst.path or "").name,
            )
        )
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    files = [Path(f) for f in args.files] or definition_files()
    bad = 0
    for path in files:
        try:
            load_file(path)
        except InstrumentError as exc:
            bad += 1
            for problem in exc.problems:
                print(problem)
    print(f"{len(files) - bad} of {len(files)} files valid", file=sys.stderr)
    return 1 if bad else 0


def _cmd_fhir(args: argparse.Namespace) -> int:
    from instruments.fhir import to_questionnaire
    from instruments.loader import load

    try:
        inst = load(args.id)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    if args.lang not in inst.languages:
        print(
            f"error: {inst.id} has no language {args.lang!r} (has {', '.join(inst.languages)})",
            file=sys.stderr,
        )
        return 2
    print(json.dumps(to_questionnaire(inst, lang=args.lang), ensure_ascii=False, indent=2))
    return 0


def _cmd_from_fhir(args: argparse.Namespace) -> int:
    from instruments.fhir import FhirImportError, from_questionnaire_file

    try:
        text = from_questionnaire_file(Path(args.file))
    except FhirImportError as exc:
        print(f"error: {args.file}: {exc}", file=sys.stderr)
        return 1
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m instruments``."""
    parser = argparse.ArgumentParser(prog="python -m instruments", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="id, version, kind, languages and item count of each file")
    p = sub.add_parser("validate", help="validate definition files (default: all bundled)")
    p.add_argument("files", nargs="*", metavar="FILE")
    p = sub.add_parser("fhir", help="print an HL7 FHIR R4 Questionnaire (JSON)")
    p.add_argument("id")
    p.add_argument("--lang", default="nb", help="main language of the texts (default nb)")
    p = sub.add_parser("from-fhir", help="convert a FHIR R4 Questionnaire to a definition file")
    p.add_argument("file", metavar="FILE.json")
    p.add_argument("-o", "--output", help="write the YAML here instead of standard output")
    args = parser.parse_args(argv)
    handlers = {
        "list": _cmd_list,
        "validate": _cmd_validate,
        "fhir": _cmd_fhir,
        "from-fhir": _cmd_from_fhir,
    }
    return handlers[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
