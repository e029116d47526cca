// libsystemc.so refers to sc_main. Benchmark programs run through benchmark_main's main(); should
// SystemC's main() be the one linked, it calls this and the benchmarks still run once.
#include <benchmark/benchmark.h>

extern "C" int sc_main(int argc, char* argv[]) {
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
