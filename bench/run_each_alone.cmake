# Runs every benchmark of one program on its own (--benchmark_filter=^NAME$), as someone timing a
# single benchmark would, with a tiny minimum time. Fails when a benchmark aborts, reports an error
# or does not run. Usage: cmake -DBENCH=<program> -P run_each_alone.cmake
execute_process(COMMAND ${BENCH} --benchmark_list_tests OUTPUT_VARIABLE names RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${BENCH} --benchmark_list_tests failed (${rc})")
endif()
string(REGEX MATCHALL "[^\n]+" names "${names}")
if(NOT names)
    message(FATAL_ERROR "${BENCH} lists no benchmark")
endif()
foreach(name IN LISTS names)
    execute_process(COMMAND ${BENCH} "--benchmark_filter=^${name}$" --benchmark_min_time=0.001
                    OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0 OR out MATCHES "ERROR OCCURRED" OR NOT out MATCHES "\n${name} ")
        message(FATAL_ERROR "${name} run alone failed (exit ${rc}):\n${out}\n${err}")
    endif()
    message(STATUS "${name} ran alone")
endforeach()
