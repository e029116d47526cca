#!/usr/bin/env bash
# Installs, from Debian's archive, only the build and test dependencies that are missing.
# Idempotent: a second run installs nothing and does not touch the network.
set -euo pipefail

packages=(
    cmake g++ make pkg-config ccache python3
    libsystemc-dev verilator
    libgtest-dev libgmock-dev libbenchmark-dev
    nlohmann-json3-dev libyaml-cpp-dev gnuplot-nox clang-format-16 gtkwave
    clang libclang-rt-14-dev  # the fuzz preset: clang++ with libFuzzer and the sanitizer runtimes
    valgrind  # bench/instructions.sh: instructions per operation (cachegrind)
    linux-source-6.12  # the kernel's own iommufd selftest and uapi headers (testbench/kselftest)
)

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
    echo "deps: installing ${missing[*]}"
    sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
