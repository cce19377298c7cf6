#!/usr/bin/python3
"""validate-json.py SCHEMA FILE...: check JSON documents against one of the
schemas in schema/ (JSON Schema draft 2020-12).

FILE may hold one JSON document, or one per line with --lines (watch
--json).  References between schemas ("common.schema.json#/$defs/...")
are resolved from the schema's own directory, never from the network.
Exit status 0 when every document is valid, 1 with the reasons on stderr
when one is not, 2 for bad usage.  Needs python3-jsonschema (4.x)."""
import json
import os
import sys

import jsonschema


def load_dir(directory):
    """Every *.schema.json in the directory, by file name."""
    out = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith('.schema.json'):
            with open(os.path.join(directory, name)) as f:
                out[name] = json.load(f)
    return out


def make_validator(path):
    schemas = load_dir(os.path.dirname(os.path.abspath(path)))
    schema = schemas[os.path.basename(path)]
    cls = jsonschema.Draft202012Validator
    cls.check_schema(schema)
    try:
        # jsonschema >= 4.18: the referencing library
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012
        registry = Registry().with_resources(
            (name, Resource.from_contents(s, default_specification=DRAFT202012))
            for name, s in schemas.items())
        return cls(schema, registry=registry)
    except ImportError:
        # older jsonschema (Debian 12 has 4.10): RefResolver with a store
        resolver = jsonschema.RefResolver(base_uri='', referrer=schema, store=schemas)
        return cls(schema, resolver=resolver)


def main():
    args = sys.argv[1:]
    lines = False
    if args and args[0] == '--lines':
        lines = True
        args = args[1:]
    if len(args) < 2:
        sys.stderr.write('usage: validate-json.py [--lines] SCHEMA FILE...\n')
        return 2
    validator = make_validator(args[0])
    bad = 0
    for path in args[1:]:
        with open(path) as f:
            text = f.read()
        try:
            docs = [json.loads(line) for line in text.splitlines() if line.strip()] \
                if lines else [json.loads(text)]
        except ValueError as e:
            sys.stderr.write('%s: not JSON: %s\n' % (path, e))
            bad += 1
            continue
        if not docs:
            sys.stderr.write('%s: no JSON document\n' % path)
            bad += 1
        for n, doc in enumerate(docs, 1):
            errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
            for e in errors[:5]:
                where = '/'.join(str(p) for p in e.absolute_path) or '(top)'
                sys.stderr.write('%s%s: %s: %s\n' % (
                    path, ':%d' % n if lines else '', where, e.message[:300]))
            bad += bool(errors)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
