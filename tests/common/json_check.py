#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs a smoke command and parses the JSON it wrote: a smoke test that only looked for
a non-empty file would pass on truncated or malformed JSON.

usage: json_check.py [--file F] [--key PATH]... [--eq PATH=JSON]... [--nonempty PATH]...
                     -- COMMAND [ARGS...]

The JSON is F (removed first, so a stale file cannot pass) or, without --file, the last
line of the command's stdout that starts with '{'. PATH is dotted; a segment may index
a list, `runs[0]`, or select the element whose member equals a value,
`strategies[name=percpu]`. Exit: the command's status when it is not 0 (77 = skip
passes through), 1 when the JSON does not parse or a check fails, else 0.
"""
import json
import os
import re
import subprocess
import sys

SEG = re.compile(r'^([^\[\]]+)((?:\[[^\]]*\])*)$')


def walk(doc, path):
    cur = doc
    for seg in path.split('.'):
        m = SEG.match(seg)
        if not m:
            raise KeyError(f'bad path segment {seg!r}')
        cur = cur[m.group(1)]
        for sel in re.findall(r'\[([^\]]*)\]', m.group(2)):
            if '=' in sel:
                k, v = sel.split('=', 1)
                hits = [e for e in cur if isinstance(e, dict) and str(e.get(k)) == v]
                if not hits:
                    raise KeyError(f'no element with {k}={v}')
                cur = hits[0]
            else:
                cur = cur[int(sel)]
    return cur


def split_eq(arg):
    """PATH=JSON at the first '=' outside brackets (selectors hold '=' too)."""
    depth = 0
    for i, c in enumerate(arg):
        depth += c == '['
        depth -= c == ']'
        if c == '=' and depth == 0:
            return arg[:i], arg[i + 1:]
    sys.exit(f'json_check: --eq {arg}: no =')


def main(argv):
    if '--' not in argv:
        sys.exit(__doc__)
    split = argv.index('--')
    opts, cmd = argv[:split], argv[split + 1:]
    path, checks = None, []
    i = 0
    while i < len(opts):
        if opts[i] == '--file':
            path = opts[i + 1]
        elif opts[i] in ('--key', '--eq', '--nonempty'):
            checks.append((opts[i], opts[i + 1]))
        else:
            sys.exit(f'json_check: unknown option {opts[i]}')
        i += 2
    if path and os.path.exists(path):
        os.remove(path)
    run = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    sys.stdout.write(run.stdout)
    if run.returncode:
        return run.returncode
    try:
        if path:
            with open(path) as f:
                doc = json.load(f)
        else:
            lines = [l for l in run.stdout.splitlines() if l.startswith('{')]
            if not lines:
                print('json_check: no JSON line on stdout', file=sys.stderr)
                return 1
            doc = json.loads(lines[-1])
    except (OSError, ValueError) as e:
        print(f'json_check: {path or "stdout"}: {e}', file=sys.stderr)
        return 1
    bad = 0
    for kind, arg in checks:
        p, want = split_eq(arg) if kind == '--eq' else (arg, None)
        try:
            got = walk(doc, p)
        except (KeyError, IndexError, TypeError, ValueError) as e:
            print(f'json_check: {p}: missing ({e})', file=sys.stderr)
            bad = 1
            continue
        if kind == '--eq' and got != json.loads(want):
            print(f'json_check: {p} = {got!r}, expected {want}', file=sys.stderr)
            bad = 1
        if kind == '--nonempty' and not got:
            print(f'json_check: {p} is empty', file=sys.stderr)
            bad = 1
    if not bad:
        print(f'json_check: {path or "stdout JSON"} parsed, {len(checks)} checks passed')
    return bad


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
