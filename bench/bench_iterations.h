// IOMMUSIM_BENCH_ITERATIONS=N makes every benchmark run exactly N iterations once, with no
// calibration runs, so that two instruction counts (valgrind --tool=cachegrind) at N and 2N differ
// by exactly N iterations: their difference over N is the instructions per iteration, free of the
// set-up (bench/instructions.sh). Without the variable Google Benchmark calibrates as usual.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>

namespace iommusim::bench {

inline void iterations_from_environment(benchmark::internal::Benchmark* b) {
    const char* text = std::getenv("IOMMUSIM_BENCH_ITERATIONS");
    if (text == nullptr || *text == '\0') {
        return;
    }
    char* end = nullptr;
    const long long n = std::strtoll(text, &end, 10);
    if (*end != '\0' || n <= 0) {
        std::fprintf(stderr, "IOMMUSIM_BENCH_ITERATIONS=%s: expected a positive number of iterations\n", text);
        std::exit(2);
    }
    b->Iterations(n);
}

}  // namespace iommusim::bench
