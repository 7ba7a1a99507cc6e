# SPDX-License-Identifier: MIT
# Run under zsmem-run by the tests: a dict of ~100 MiB of objects (its table and the
# object arenas are placed in the region; a 16 MiB cap evicts most of it), every value
# checked, then a subprocess (fork + exec) whose output is checked.
import subprocess
import sys

N = 600_000
d = {i: ("v%d" % i) * 8 for i in range(N)}
bad = sum(1 for i in range(0, N, 7) if d[i] != ("v%d" % i) * 8)
total = sum(len(v) for v in d.values())
want = sum(len(("v%d" % i) * 8) for i in range(N))
out = subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True, text=True)
if bad or total != want or out.stdout.strip() != "42":
    print("run_dict: wrong: bad=%d total=%d want=%d out=%r" % (bad, total, want, out.stdout))
    sys.exit(1)
print("run_dict: ok")
