#!/usr/bin/env bash
# Installs what is missing, configures, builds and runs the whole test suite (ctest totals at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
preset=${IOMMUSIM_PRESET:-default}
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
ctest --preset "$preset" -j "$(nproc)" "$@"
