# Shared by the cmake -P check scripts (IommusimInstallCheck, IommusimOwnIotlbCheck): the
# required -D variables, and run(), which runs one command and stops the check with its output
# when it fails.
function(iommusim_check_require)
    foreach(var ${ARGN})
        if(NOT DEFINED ${var})
            message(FATAL_ERROR "${var} is required")
        endif()
    endforeach()
endfunction()

function(run)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
    endif()
    message(STATUS "${out}")
endfunction()
