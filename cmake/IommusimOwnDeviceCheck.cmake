# ctest check that a user's own device model builds against the installed package and runs a
# scenario on the platform:
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -P IommusimOwnDeviceCheck.cmake
# installs the build into WORK_DIR/prefix, configures and builds examples/own_device against it and
# runs its ctest (the scenario passes, a misdirected write fails, a regression over seeds). First the
# installed program runs a shipped scenario file by its bare name from another directory: it finds
# the installed copy (share/iommusim/scenarios).
include(${CMAKE_CURRENT_LIST_DIR}/IommusimCheckScript.cmake)
iommusim_check_require(BUILD_DIR SOURCE_DIR WORK_DIR)
file(REMOVE_RECURSE ${WORK_DIR}/prefix ${WORK_DIR}/build)
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
execute_process(COMMAND ${prefix}/bin/iommusim --list WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc
                OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "scenario files \\(iommusim run NAME.yaml; in ${prefix}/share/iommusim/scenarios\\)")
    message(FATAL_ERROR "the installed iommusim --list does not show the installed scenario files:\n${out}${err}")
endif()
run(${prefix}/bin/iommusim run --quiet nested-invalidate.yaml)
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/own_device -B ${WORK_DIR}/build -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_BUILD_TYPE=RelWithDebInfo)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build -j2)
run(${CMAKE_CTEST_COMMAND} --test-dir ${WORK_DIR}/build --output-on-failure)
