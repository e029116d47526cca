# ctest check that a user's own IOTLB design builds against the installed package and runs in
# lockstep:
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -P IommusimOwnIotlbCheck.cmake
# installs the build into WORK_DIR/prefix, configures and builds examples/own_iotlb against it (its
# own verilation, through iommusim_add_rtl_iotlb) and runs its ctest.
include(${CMAKE_CURRENT_LIST_DIR}/IommusimCheckScript.cmake)
iommusim_check_require(BUILD_DIR SOURCE_DIR WORK_DIR)
file(REMOVE_RECURSE ${WORK_DIR}/prefix)
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
# The build directory is kept between runs: an unchanged design is not verilated again.
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/own_iotlb -B ${WORK_DIR}/build -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_BUILD_TYPE=RelWithDebInfo)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build -j2)
run(${CMAKE_CTEST_COMMAND} --test-dir ${WORK_DIR}/build --output-on-failure)
