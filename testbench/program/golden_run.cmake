# Runs iommusim with waves and statistics and compares both with a recorded run: the queue
# engine's timing and per-descriptor wave detail must not change when its host cost does.
#
#   cmake -DIOMMUSIM=<binary> -DNAME=<run> -DGOLDEN_DIR=<dir> -DOUT_DIR=<dir> -DRUN_ARGS=<arg,arg,...>
#         [-DRECORDING=<recorded run>] [-DUPDATE=ON] -P golden_run.cmake
#
# Compares <OUT_DIR>/<NAME>.vcd with <GOLDEN_DIR>/<RECORDING>.vcd and the statistics JSON, without
# its "run" block (version, command line, paths), with <GOLDEN_DIR>/<RECORDING>.stats.json
# (RECORDING defaults to NAME: another run may have to match the same recording). UPDATE=ON
# records the golden files instead (only from a build whose timing is the reference).
foreach(var IOMMUSIM NAME GOLDEN_DIR OUT_DIR RUN_ARGS)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "golden_run.cmake: ${var} is not set")
    endif()
endforeach()

if(NOT DEFINED RECORDING)
    set(RECORDING ${NAME})
endif()
string(REPLACE "," ";" RUN_ARGS "${RUN_ARGS}")
file(MAKE_DIRECTORY ${OUT_DIR})
set(vcd ${OUT_DIR}/${NAME}.vcd)
set(stats_raw ${OUT_DIR}/${NAME}.raw.json)
set(stats ${OUT_DIR}/${NAME}.stats.json)
file(REMOVE ${vcd} ${stats_raw} ${stats})
execute_process(COMMAND ${IOMMUSIM} --quiet --waves=${vcd} --stats-json ${stats_raw} ${RUN_ARGS}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NAME}: iommusim ${RUN_ARGS} exited with ${rc}:\n${out}")
endif()
file(READ ${stats_raw} json)
string(JSON json REMOVE "${json}" run)
file(WRITE ${stats} "${json}\n")

if(UPDATE)
    file(COPY_FILE ${vcd} ${GOLDEN_DIR}/${RECORDING}.vcd)
    file(COPY_FILE ${stats} ${GOLDEN_DIR}/${RECORDING}.stats.json)
    message(STATUS "${NAME}: golden files recorded in ${GOLDEN_DIR}")
    return()
endif()

set(failed "")
foreach(pair "${vcd}|${GOLDEN_DIR}/${RECORDING}.vcd" "${stats}|${GOLDEN_DIR}/${RECORDING}.stats.json")
    string(REPLACE "|" ";" files "${pair}")
    list(GET files 0 got)
    list(GET files 1 want)
    execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${got} ${want} RESULT_VARIABLE differ)
    if(differ)
        # The first differences, for the reader (diff exits 1 when the files differ).
        execute_process(COMMAND diff ${want} ${got} OUTPUT_VARIABLE d ERROR_VARIABLE d)
        string(SUBSTRING "${d}" 0 3000 d)
        string(APPEND failed "${got} differs from ${want} (< expected, > got):\n${d}\n")
    endif()
endforeach()
if(failed)
    message(FATAL_ERROR "${NAME}: the run changed\n${failed}")
endif()
message(STATUS "${NAME}: waves and statistics as recorded")
