# ctest check that a user's own device model builds against the installed package and runs a
# scenario on the platform:
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -P IommusimOwnDeviceCheck.cmake
# installs the build into WORK_DIR/prefix, configures and builds examples/own_device against it and
# runs its ctest (the scenario passes, a misdirected write fails, a regression over seeds).
include(${CMAKE_CURRENT_LIST_DIR}/IommusimCheckScript.cmake)
iommusim_check_require(BUILD_DIR SOURCE_DIR WORK_DIR)
file(REMOVE_RECURSE ${WORK_DIR}/prefix ${WORK_DIR}/build)
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/own_device -B ${WORK_DIR}/build -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_BUILD_TYPE=RelWithDebInfo)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build -j2)
run(${CMAKE_CTEST_COMMAND} --test-dir ${WORK_DIR}/build --output-on-failure)
