#!/usr/bin/env python3
"""Validate JSON Lines against srcip's schemas (docs/schemas) with the standard `jsonschema` validator.

usage: validate-jsonl.py flow|raw|merge FILE...
  flow:  trace --format jsonl; lines of kind run/summary are checked against run-summary.schema.json
  raw:   trace --raw --format jsonl; lines of kind run/summary are checked against run-summary.schema.json
  merge: merge --format jsonl (paths, unmatched records, verification rows)
Prints one line per invalid record (file:line: path: message) and the number of lines checked; exits 1 on any error.
"""
import json
import pathlib
import sys

import jsonschema

SCHEMAS = pathlib.Path(__file__).resolve().parent.parent / "docs" / "schemas"


def load():
    schemas = {p.name.split(".")[0]: json.loads(p.read_text()) for p in SCHEMAS.glob("*.schema.json")}
    by_id = {s["$id"]: s for s in schemas.values()}
    try:  # jsonschema >= 4.18: the referencing library
        from referencing import Registry, Resource
        registry = Registry().with_resources([(i, Resource.from_contents(s)) for i, s in by_id.items()])

        def validator(name):
            cls = jsonschema.validators.validator_for(schemas[name])
            return cls(schemas[name], registry=registry, format_checker=cls.FORMAT_CHECKER)
    except ImportError:  # Debian bookworm's 4.10
        def validator(name):
            cls = jsonschema.validators.validator_for(schemas[name])
            resolver = jsonschema.RefResolver.from_schema(schemas[name], store=by_id)
            return cls(schemas[name], resolver=resolver, format_checker=cls.FORMAT_CHECKER)
    for s in schemas.values():
        jsonschema.validators.validator_for(s).check_schema(s)
    return {name: validator(name) for name in schemas}


def main(argv):
    if len(argv) < 3 or argv[1] not in ("flow", "raw", "merge"):
        print(__doc__, file=sys.stderr)
        return 2
    validators = load()
    kind, errors, checked = argv[1], 0, 0
    for path in argv[2:]:
        for n, line in enumerate(pathlib.Path(path).read_text().splitlines(), 1):
            if not line.strip():
                continue
            checked += 1
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                print(f"{path}:{n}: not JSON: {e}")
                errors += 1
                continue
            name = kind
            if kind in ("flow", "raw") and isinstance(obj, dict) and obj.get("kind") in ("run", "summary"):
                name = "run-summary"
            for e in validators[name].iter_errors(obj):
                e = jsonschema.exceptions.best_match([e] + list(e.context or []))
                print(f"{path}:{n}: {name}: {'/'.join(map(str, e.absolute_path)) or '(record)'}: {e.message[:300]}")
                errors += 1
    print(f"{checked} lines checked, {errors} errors")
    return 1 if errors or not checked else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
