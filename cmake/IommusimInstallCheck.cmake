# ctest check that the installed package works for a user's own program:
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -P IommusimInstallCheck.cmake
# installs the build into WORK_DIR/prefix, builds examples/nested_vmm against it with
# find_package(iommusim), and runs it.
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "${var} is required")
    endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
function(run)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
    endif()
    message(STATUS "${out}")
endfunction()
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
# The GTKWave views' translate filters are installed (views written by an installed program name them).
foreach(file fault_reason.txt desc_type.txt walk_stage.txt iotlb_kind.txt iotlb_level.txt iotlb_inv_scope.txt
        iotlb_state.txt iotlb.gtkw)
    if(NOT EXISTS ${WORK_DIR}/prefix/share/iommusim/waves/${file})
        message(FATAL_ERROR "not installed: share/iommusim/waves/${file}")
    endif()
endforeach()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/nested_vmm -B ${WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=RelWithDebInfo)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/nested_vmm)
