#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A small but real program state: parsed syntax trees, dicts of strings,
lists of floats and JSON text. Prints 'ready' and then sleeps, so its
anonymous memory can be dumped as a corpus of real pages."""
import ast, glob, json, os, random, time

random.seed(7)
trees = []
for path in sorted(glob.glob(os.path.dirname(os.__file__) + "/*.py"))[:250]:
    try:
        with open(path) as f:
            trees.append(ast.parse(f.read()))
    except (SyntaxError, UnicodeDecodeError):
        pass
table = {f"key{i}": (i, str(i) * 3, [i] * 3) for i in range(400000)}
floats = [random.random() for _ in range(1000000)]
docs = [json.dumps({"a": i, "b": [1, 2, 3], "c": "x" * (i % 50)}) for i in range(200000)]
print("ready", len(trees), len(table), len(floats), len(docs), flush=True)
time.sleep(10**6)
