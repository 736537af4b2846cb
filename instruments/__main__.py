"""Command line: ``python -m instruments list|validate|fhir|from-fhir|value-sets``."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from instruments.loader import InstrumentError, definition_files, load, load_file
from instruments.model import Instrument


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _cmd_list(_: argparse.Namespace) -> int:
    rows = [("id", "version", "kind", "languages", "items", "file")]
    bad = 0
    for path in definition_files():
        try:
            inst = load_file(_shown(path))
        except InstrumentError as exc:
            bad += 1
            print(exc, file=sys.stderr)
            continue
        row = (inst.id, inst.version, inst.kind, ",".join(inst.languages))
        rows.append((*row, str(len(inst.questions)), path.name))
    rows[1:] = sorted(rows[1:])
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 1 if bad else 0


def _cmd_validate(args: argparse.Namespace) -> int:
    files = [Path(f) for f in args.files] or [Path(_shown(p)) for p in definition_files()]
    if not files:
        print("no definition files found", file=sys.stderr)
        return 1
    bad = 0
    first_file: dict[str, Path] = {}
    for path in files:
        try:
            inst = load_file(path)
        except InstrumentError as exc:
            bad += 1
            for problem in exc.problems:
                print(problem)
            continue
        if inst.id in first_file:
            bad += 1
            print(f"{path}:-: instrument id '{inst.id}' is also used by {first_file[inst.id]}")
        first_file.setdefault(inst.id, path)
    print(f"{len(files) - bad} of {len(files)} files valid", file=sys.stderr)
    return 1 if bad else 0


def _load_instrument(name: str) -> Instrument:
    """A bundled instrument by id, or a definition file by path (``*.yaml``)."""
    if name.endswith((".yaml", ".yml")) or Path(name).is_file():
        return load_file(name)
    return load(name)


def _cmd_fhir(args: argparse.Namespace) -> int:
    from instruments.fhir import to_questionnaire

    try:
        inst = _load_instrument(args.id)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    except InstrumentError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.profile == "helsenorge":
        from instruments.fhir_helsenorge import to_helsenorge_bundle

        bundle = to_helsenorge_bundle(inst)
        _write(json.dumps(bundle, ensure_ascii=False, indent=2) + "\n", args.output)
        return 0
    if args.lang not in inst.languages:
        print(
            f"error: {inst.id} has no language {args.lang!r} (has {', '.join(inst.languages)})",
            file=sys.stderr,
        )
        return 2
    text = json.dumps(to_questionnaire(inst, lang=args.lang), ensure_ascii=False, indent=2)
    _write(text + "\n", args.output)
    return 0


def _cmd_from_fhir(args: argparse.Namespace) -> int:
    from instruments.fhir import FhirImportError, from_questionnaire_file

    if args.output and len(args.files) > 1:
        print("error: -o takes one FILE; use --out-dir for several", file=sys.stderr)
        return 2
    converted = 0
    for file in args.files:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                text = from_questionnaire_file(
                    Path(file), skip_unsupported=args.skip_unsupported, language=args.language
                )
            except FhirImportError as exc:
                for problem in exc.problems:
                    print(f"error: {file}: {problem}", file=sys.stderr)
                continue
        for warning in caught:
            print(f"warning: {file}: {warning.message}", file=sys.stderr)
        converted += 1
        if args.out_dir:
            out = Path(args.out_dir) / (Path(file).stem + ".yaml")
            out.parent.mkdir(parents=True, exist_ok=True)
            _write(text, str(out))
        else:
            _write(text, args.output)
    if converted < len(args.files) or len(args.files) > 1:
        print(f"{converted} of {len(args.files)} files converted", file=sys.stderr)
    return 0 if converted == len(args.files) else 1


def _cmd_value_sets(_: argparse.Namespace) -> int:
    from instruments.fhir_value_sets import shipped_value_sets

    seen = set()
    for vs in shipped_value_sets().values():
        if id(vs) in seen:
            continue
        seen.add(id(vs))
        print(f"{vs['url']}  {vs.get('title', '')}")
    return 0


def _write(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m instruments``."""
    parser = argparse.ArgumentParser(prog="python -m instruments", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="id, version, kind, languages and item count of each file")
    p = sub.add_parser("validate", help="validate definition files (default: all bundled)")
    p.add_argument("files", nargs="*", metavar="FILE")
    p = sub.add_parser("fhir", help="print an HL7 FHIR R4 Questionnaire (JSON)")
    p.add_argument("id", help="a bundled instrument id, or the path of a definition file")
    p.add_argument("--lang", default="nb", help="main language of the texts (default nb)")
    p.add_argument(
        "--profile",
        choices=["plain", "helsenorge"],
        default="plain",
        help="helsenorge: a Bundle with one Questionnaire per language, as refero renders it",
    )
    p.add_argument("-o", "--output", help="write the JSON here instead of standard output")
    p = sub.add_parser("from-fhir", help="convert FHIR R4 Questionnaires to definition files")
    p.add_argument("files", nargs="+", metavar="FILE.json")
    p.add_argument("-o", "--output", help="write the YAML here instead of standard output")
    p.add_argument("--out-dir", help="write one FILE.yaml per input file into this directory")
    p.add_argument(
        "--language",
        choices=["nb", "nn", "en"],
        help="language of the texts when the file does not say (it is never assumed)",
    )
    p.add_argument(
        "--skip-unsupported",
        action="store_true",
        help="leave out items openprom cannot hold (time, url, attachment ...) instead of failing",
    )
    sub.add_parser("value-sets", help="the answer value sets shipped for answerValueSet URLs")
    args = parser.parse_args(argv)
    handlers = {
        "list": _cmd_list,
        "validate": _cmd_validate,
        "fhir": _cmd_fhir,
        "from-fhir": _cmd_from_fhir,
        "value-sets": _cmd_value_sets,
    }
    return handlers[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
