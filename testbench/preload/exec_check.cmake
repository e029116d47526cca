# `iommusim exec` end to end: outputs, exit statuses and refusals.
#   cmake -DIOMMUSIM=<program> -DPROGRAM=<plain_program> -DWORK_DIR=<dir> -P exec_check.cmake
foreach(var IOMMUSIM PROGRAM WORK_DIR)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "${var} is required")
    endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# Runs `iommusim <args>` and fails unless its exit status is `expected`.
function(expect_status expected)
    execute_process(COMMAND ${IOMMUSIM} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc STREQUAL "${expected}")
        message(FATAL_ERROR "iommusim ${ARGN}: exit status ${rc}, expected ${expected}\n${out}\n${err}")
    endif()
endfunction()

# The statistics and the waves cover what the program did.
expect_status(0 exec --stats-json ${WORK_DIR}/stats.json --waves=${WORK_DIR}/waves/ -- ${PROGRAM} exec)
file(READ ${WORK_DIR}/stats.json stats)
string(JSON scenario GET "${stats}" run scenario)
string(JSON argument GET "${stats}" run command_line 1)
if(NOT scenario STREQUAL "exec" OR NOT argument STREQUAL "exec")
    message(FATAL_ERROR "statistics' run block: scenario '${scenario}', command line argument '${argument}'")
endif()
if(NOT EXISTS ${WORK_DIR}/waves/exec.vcd OR NOT EXISTS ${WORK_DIR}/waves/exec.gtkw)
    message(FATAL_ERROR "no waves/exec.vcd and its view")
endif()

# The program's exit status; 128+N for signal N; 127 when it cannot be started.
expect_status(7 exec -- sh -c "exit 7")
expect_status(143 exec -- sh -c "kill -TERM $$")
expect_status(127 exec -- ${WORK_DIR}/no-such-program)
# Bad usage, found before anything runs.
expect_status(2 exec --iotlb fpga -- true)
expect_status(2 exec --stats-json - -- true)
expect_status(2 exec --config ${WORK_DIR}/no-such-config.json -- true)
expect_status(2 exec)
expect_status(2 exec true)
