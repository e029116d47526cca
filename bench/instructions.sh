#!/usr/bin/env bash
# Instructions per operation for every benchmark, next to its time: each benchmark runs under
# `valgrind --tool=cachegrind` twice, for N and for 2N iterations (IOMMUSIM_BENCH_ITERATIONS,
# bench/bench_iterations.h); the difference of the two instruction totals over N is the cost of one
# iteration without start-up and set-up. A loaded machine changes the times, not the counts.
#
#   bench/instructions.sh [-B BUILD_DIR] [-n N] [--json FILE] [REGEX]
#
# BUILD_DIR (default build/release) holds bench/bench_*; REGEX (default all) selects benchmarks by
# name. Prints a Markdown table: benchmark, time per iteration (Google Benchmark's own calibrated
# run, CPU time), instructions per iteration and, when the benchmark counts items, per item.
set -euo pipefail

usage() {
    sed -n 's/^#   //p' "$0" >&2
    exit 2
}

build=build/release
iterations=1000
json=
filter=.
while (($#)); do
    case $1 in
    -B) build=${2:?-B needs a build directory}; shift 2 ;;
    -n) iterations=${2:?-n needs a number}; shift 2 ;;
    --json) json=${2:?--json needs a file}; shift 2 ;;
    -h | --help) usage ;;
    -*) echo "instructions.sh: unknown option $1" >&2; usage ;;
    *) filter=$1; shift ;;
    esac
done
[[ $iterations =~ ^[1-9][0-9]*$ ]] || { echo "instructions.sh: -n $iterations: expected a positive number" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind is not installed (scripts/deps.sh installs it)" >&2; exit 2; }
shopt -s nullglob
programs=("$build"/bench/bench_*)
((${#programs[@]})) || { echo "instructions.sh: no benchmark programs in $build/bench (build the release preset)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Total instructions of one run of benchmark $2 of program $1 at $3 iterations.
instructions() {
    local out=$work/cachegrind.out
    IOMMUSIM_BENCH_ITERATIONS=$3 valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$out" \
        "$1" --benchmark_filter="^$2(/iterations:[0-9]+)?\$" >"$work/valgrind.log" 2>&1 || {
        echo "instructions.sh: $2 failed under valgrind:" >&2
        tail -5 "$work/valgrind.log" >&2
        return 1
    }
    awk '/^summary:/ { print $2; found = 1 } END { exit !found }' "$out"
}

rows=$work/rows.jsonl
: >"$rows"
for program in "${programs[@]}"; do
    [[ -x $program ]] || continue
    while read -r name; do
        [[ -n $name && $name =~ $filter ]] || continue
        "$program" --benchmark_filter="^$name\$" --benchmark_format=json >"$work/time.json" 2>"$work/time.log" || {
            echo "instructions.sh: $name failed:" >&2
            tail -5 "$work/time.log" >&2
            exit 1
        }
        ir1=$(instructions "$program" "$name" "$iterations")
        ir2=$(instructions "$program" "$name" $((2 * iterations)))
        python3 - "$name" "$iterations" "$ir1" "$ir2" "$work/time.json" >>"$rows" <<'PY'
import json, sys
name, n, ir1, ir2, timing = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
run = next(b for b in json.load(open(timing))["benchmarks"] if b.get("run_type", "iteration") == "iteration")
if run.get("error_occurred"):
    sys.exit(f"instructions.sh: {name}: {run.get('error_message', 'failed')}")
to_ns = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[run.get("time_unit", "ns")]
per_iteration = (ir2 - ir1) / n
row = {"name": name, "cpu_ns": run["cpu_time"] * to_ns, "instructions": per_iteration}
if run.get("items_per_second") and run["cpu_time"] > 0:
    items = run["items_per_second"] * run["cpu_time"] * to_ns / 1e9
    if items > 1.5:
        row["items"] = round(items)
        row["instructions_per_item"] = per_iteration / round(items)
print(json.dumps(row))
PY
    done < <("$program" --benchmark_list_tests)
done

[[ -s $rows ]] || { echo "instructions.sh: no benchmark matches '$filter'" >&2; exit 2; }
python3 - "$rows" "$iterations" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
def fmt_ns(ns):
    return f"{ns / 1e3:.3g} us" if ns >= 1e4 else f"{ns:.3g} ns"
print(f"Instructions per iteration: cachegrind at N={sys.argv[2]} and 2N, difference over N.\n")
print("| Benchmark | Time per iteration | Instructions per iteration | Per item |")
print("| --- | ---: | ---: | ---: |")
for r in rows:
    item = f"{r['instructions_per_item']:,.0f} ({r['items']} items)" if "items" in r else ""
    print(f"| `{r['name']}` | {fmt_ns(r['cpu_ns'])} | {r['instructions']:,.0f} | {item} |")
PY
if [[ -n $json ]]; then
    python3 -c 'import json,sys; json.dump([json.loads(l) for l in open(sys.argv[1])], open(sys.argv[2] + ".tmp", "w"), indent=1)' \
        "$rows" "$json" && mv "$json.tmp" "$json"
fi
