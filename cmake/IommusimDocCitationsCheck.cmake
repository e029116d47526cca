# ctest check that util/check_doc_citations.py reports what it must:
#   cmake -DPYTHON=... -DCHECKER=... -DWORK_DIR=... -P IommusimDocCitationsCheck.cmake
# builds a fixture tree (one document with sections 1 and 1.2, a file citing it rightly and wrongly)
# and expects exactly the missing document, the missing section and the uninstalled document.
foreach(var PYTHON CHECKER WORK_DIR)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "${var} is required")
    endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
# The fixture's paths are spelt through a variable so that this file itself cites no document.
set(d docs)
file(WRITE ${WORK_DIR}/${d}/present.md "# Title\n\n## 1. First\n\n### 1.2 Second\n")
file(WRITE ${WORK_DIR}/good.txt "see ${d}/present.md §1, §1.2 and ${d}/present.md\n")
file(WRITE ${WORK_DIR}/bad.txt "line one\nsee ${d}/present.md §1.2-§1.3\nand ${d}/absent.md §1\n")
file(MAKE_DIRECTORY ${WORK_DIR}/installed)

function(check expect_rc)
    cmake_parse_arguments(arg "" "" "ARGS;EXPECT;REJECT" ${ARGN})
    execute_process(COMMAND ${PYTHON} ${CHECKER} --root ${WORK_DIR} ${arg_ARGS}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL expect_rc)
        message(FATAL_ERROR "${arg_ARGS}: exit ${rc}, expected ${expect_rc}\n${out}${err}")
    endif()
    foreach(text ${arg_EXPECT})
        string(FIND "${err}" "${text}" at)
        if(at EQUAL -1)
            message(FATAL_ERROR "${arg_ARGS}: no \"${text}\" in:\n${err}")
        endif()
    endforeach()
    foreach(text ${arg_REJECT})
        string(FIND "${err}" "${text}" at)
        if(NOT at EQUAL -1)
            message(FATAL_ERROR "${arg_ARGS}: unexpected \"${text}\" in:\n${err}")
        endif()
    endforeach()
endfunction()

check(0 ARGS good.txt)
check(1 ARGS bad.txt
      EXPECT "bad.txt:2: cites ${d}/present.md §1.3, which has no such section"
             "bad.txt:3: cites ${d}/absent.md, which does not exist"
      REJECT "§1.2, which")
check(1 ARGS --installed-docs ${WORK_DIR}/installed good.txt
      EXPECT "${d}/present.md is cited but not installed")
file(COPY ${WORK_DIR}/${d}/present.md DESTINATION ${WORK_DIR}/installed)
check(0 ARGS --installed-docs ${WORK_DIR}/installed good.txt)
