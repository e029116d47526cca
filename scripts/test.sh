#!/usr/bin/env bash
# Installs what is missing, configures, builds and runs the whole test suite (ctest totals at the end,
# then the kernel selftest's own totals, which ctest does not show for a test that passes).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
preset=${IOMMUSIM_PRESET:-default}
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
totals=build/$preset/kselftest-totals
rm -rf "$totals"
status=0
ctest --preset "$preset" -j "$(nproc)" "$@" || status=$?
if compgen -G "$totals/*.txt" >/dev/null; then
    echo "Kernel iommufd selftest under the interposer (harness totals per fixture):"
    sed 's/^/    /' "$totals"/*.txt
    cat "$totals"/*.txt | grep -o '[a-z]*:[0-9]*' | awk -F: '{n[$1] += $2} END {
        printf "    all fixtures: pass %d, fail %d (expected failures listed in testbench/kselftest/expected_failures.txt), skip %d\n",
               n["pass"], n["fail"], n["skip"]}'
fi
exit "$status"
