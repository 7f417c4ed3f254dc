#!/usr/bin/env python3
"""Validates pktlens --json lines against docs/json-schema.json (helper of json_schema.sh).

Usage: _json_schema_check.py SCHEMA JSONL
Fails (exit 1, reasons on stderr) when the schema breaks its own rules (every object lists its
keys as required, is closed, and describes each key), when a line does not validate (a key the
schema does not know, a key it lists missing, a wrong type), or when a list the schema describes
had no item in any line, so that its item schema was never checked (NOT_FILLED names the lists
the scenario cannot fill, and why).
"""
import json
import sys

import jsonschema

# Lists that json_schema.sh's scenario cannot fill, with the reason.
NOT_FILLED = {
    "probes[].others": "needs another program on the hook (tests/e2e/coexist.sh)",
    "probes[].latency_pids": "needs kprobe/uprobe pairs (vm tests)",
    "probes[].latency_us.buckets": "needs kprobe/uprobe pairs (vm tests)",
    "drops.discarded_at_close.by_reason": "queues freed at close: timing-dependent (drops_close.sh)",
    "drops.discarded_at_close.by_location": "queues freed at close: timing-dependent (drops_close.sh)",
    "drops.discarded_at_close.recent": "queues freed at close: timing-dependent (drops_close.sh)",
    "alerts": "needs a scan or a flood (tests/e2e/security_scans.sh, security_floods.sh)",
    "firewall.rules": "needs --deny or --limit (tests/e2e/security_firewall.sh)",
}


def resolve(schema, node):
    ref = node.get("$ref")
    if not ref:
        return node
    target = schema
    for part in ref.lstrip("#/").split("/"):
        target = target[part]
    return target


def schema_rules(schema, node, path, bad, lists):
    node = resolve(schema, node)
    if node.get("type") == "array":
        lists.add(path)
        schema_rules(schema, node["items"], path + "[]", bad, lists)
        return
    props = node.get("properties")
    if node.get("type") != "object" or props is None:
        return
    if node.get("additionalProperties") is not False:
        bad.append("%s: not closed (additionalProperties false)" % (path or "top level"))
    if node.get("required") != list(props):
        bad.append("%s: required is not exactly its keys in order" % (path or "top level"))
    for k, sub in props.items():
        if "description" not in sub and "description" not in resolve(schema, sub):
            bad.append("%s.%s: no description" % (path, k))
        schema_rules(schema, sub, (path + "." if path else "") + k, bad, lists)


def filled(obj, path, out):
    if isinstance(obj, dict):
        for k, v in obj.items():
            filled(v, (path + "." if path else "") + k, out)
    elif isinstance(obj, list):
        if obj:
            out.add(path)
        for v in obj:
            filled(v, path + "[]", out)


def main():
    schema = json.load(open(sys.argv[1]))
    cls = jsonschema.Draft202012Validator
    cls.check_schema(schema)
    bad, lists = [], set()
    schema_rules(schema, schema, "", bad, lists)
    validator = cls(schema)
    seen, n = set(), 0
    for lineno, line in enumerate(open(sys.argv[2], errors="replace"), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            bad.append("line %d is not JSON: %s" % (lineno, e))
            continue
        n += 1
        for err in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))[:10]:
            where = "/".join(str(p) for p in err.absolute_path) or "top level"
            bad.append("line %d, %s: %s" % (lineno, where, err.message[:300]))
        filled(obj, "", seen)
    for path in sorted(lists):
        if path in NOT_FILLED:
            print("not filled by the scenario: %s (%s)" % (path, NOT_FILLED[path]), file=sys.stderr)
        elif path not in seen:
            bad.append("%s: no line had an item, so its items were never checked" % path)
    print("%d lines validated; %d lists the schema describes, %d filled" %
          (n, len(lists), len(lists & seen)), file=sys.stderr)
    for b in bad[:60]:
        print("  " + b, file=sys.stderr)
    sys.exit(1 if bad or n == 0 else 0)


if __name__ == "__main__":
    main()
