#!/usr/bin/env bash
# Installs what is missing, configures, builds and runs the main job: the default iommusim
# scenario (nested-invalidate) end to end. Extra arguments go to iommusim.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
preset=${IOMMUSIM_PRESET:-default}
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)" --target iommusim
"build/$preset/testbench/program/iommusim" "$@"
