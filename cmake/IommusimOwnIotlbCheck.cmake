# ctest check that a user's own IOTLB design builds against the installed package and runs in
# lockstep:
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -P IommusimOwnIotlbCheck.cmake
# installs the build into WORK_DIR/prefix, configures and builds examples/own_iotlb against it (its
# own verilation, through iommusim_add_rtl_iotlb) and runs its ctest.
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "${var} is required")
    endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR}/prefix)
function(run)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
    endif()
    message(STATUS "${out}")
endfunction()
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
# The build directory is kept between runs: an unchanged design is not verilated again.
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/own_iotlb -B ${WORK_DIR}/build -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_BUILD_TYPE=RelWithDebInfo)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build -j2)
run(${CMAKE_CTEST_COMMAND} --test-dir ${WORK_DIR}/build --output-on-failure)
