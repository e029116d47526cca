#!/usr/bin/env bash
# ctest bench.instructions: bench/instructions.sh on one benchmark at two iteration counts. The
# set-up (SystemC elaboration, table building) costs far more than one translation, so a count that
# still contained it would differ between N=100 and N=400; a correct difference gives the same
# instructions per iteration at both, and a plausible figure for an IOTLB hit.
set -euo pipefail
build=${1:?usage: instructions_check.sh BUILD_DIR}
here=$(dirname "$0")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$here/instructions.sh" -B "$build" -n 100 --json "$work/a.json" '^BM_TranslateIotlbHit$'
"$here/instructions.sh" -B "$build" -n 400 --json "$work/b.json" '^BM_TranslateIotlbHit$'
python3 - "$work/a.json" "$work/b.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert len(a) == 1 and len(b) == 1 and a[0]["name"] == "BM_TranslateIotlbHit", (a, b)
x, y = a[0]["instructions"], b[0]["instructions"]
assert 20 <= x <= 20000, f"implausible instructions per IOTLB hit: {x}"
# Two instructions or 2 %: a figure of a few dozen moves by one or two between runs (the rounding of
# the difference over N), which is no set-up left in it.
assert abs(x - y) <= max(2, 0.02 * y), f"instructions per iteration depend on N: {x} at 100, {y} at 400"
print(f"instructions per IOTLB hit: {x:.0f} (N=100), {y:.0f} (N=400)")
PY
