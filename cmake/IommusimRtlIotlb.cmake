# iommusim_add_rtl_iotlb: a user's RTL IOTLB as an iommusim plug-in (docs/rtl-iotlb-contract.md).
#
#   iommusim_add_rtl_iotlb(NAME <name> SOURCES <files...> TOP <module> GEOMETRIES <SxW...>
#                          [PARAMETERS <Param=value...>] [VERILATOR_ARGS <args...>]
#                          [PORT_MAP <contract port> <design port> ...])
#
# Verilates the design once per geometry (S sets x W ways, both powers of two, S <= 4096,
# W <= 64) into one shared library, target <name>, file lib<name>.so in the current binary
# directory, loaded with `iommusim --iotlb rtl:PATH` or `lockstep:PATH`. The geometry reaches the
# design as -GNumSets=S -GNumWays=W, unless a PARAMETERS value names @SETS@ or @WAYS@: then those
# values (with S and W substituted) are the geometry parameters. Every PARAMETERS entry is passed
# as -G<entry>; VERILATOR_ARGS go to every verilation as they are. PORT_MAP pairs name the
# design's port for a contract port (rtl/iotlb.sv's names) where they differ.
#
# The library exports only its entry point (rtl/plugin/rtl_iotlb_plugin.map), so its Verilator
# runtime never binds to the program's or another plug-in's.
include_guard(GLOBAL)

# Set by whoever includes this file: the source tree (rtl/CMakeLists.txt) or the installed
# package (iommusim-config.cmake).
foreach(var IOMMUSIM_RTL_IOTLB_PLUGIN_SOURCE_DIR IOMMUSIM_RTL_IOTLB_INCLUDE_DIR)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "IommusimRtlIotlb.cmake: ${var} is not set")
    endif()
    # Global: the function may be called from any directory.
    set_property(GLOBAL PROPERTY ${var} ${${var}})
endforeach()

function(iommusim_add_rtl_iotlb)
    cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;TOP" "SOURCES;GEOMETRIES;PARAMETERS;VERILATOR_ARGS;PORT_MAP")
    set(fn "iommusim_add_rtl_iotlb")
    # Every port of the contract, as rtl/iotlb.sv names it (and include/iommusim/rtl_iotlb_plugin.h's
    # fields); here, so it is seen whichever directory calls.
    set(IOMMUSIM_RTL_IOTLB_PORTS
        clk_i rst_ni
        lkp_req_valid_i lkp_req_ready_o lkp_req_did_i lkp_req_pasid_i lkp_req_kind_i lkp_req_vpn_i
        lkp_resp_valid_o lkp_resp_ready_i lkp_resp_hit_o lkp_resp_set_o lkp_resp_way_o lkp_resp_did_o
        lkp_resp_pasid_o lkp_resp_kind_o lkp_resp_level_o lkp_resp_vpn_o lkp_resp_pfn_o lkp_resp_perm_o
        fill_req_valid_i fill_req_ready_o fill_req_did_i fill_req_pasid_i fill_req_kind_i fill_req_level_i
        fill_req_vpn_i fill_req_pfn_i fill_req_perm_i
        fill_resp_valid_o fill_resp_ready_i fill_resp_set_o fill_resp_way_o fill_resp_replaced_o
        fill_resp_evict_valid_o fill_resp_evict_did_o fill_resp_evict_pasid_o fill_resp_evict_kind_o
        fill_resp_evict_level_o fill_resp_evict_vpn_o fill_resp_evict_pfn_o fill_resp_evict_perm_o
        inv_req_valid_i inv_req_ready_o inv_req_scope_i inv_req_did_i inv_req_pasid_i inv_req_vpn_i inv_req_am_i
        inv_resp_valid_o inv_resp_ready_i inv_resp_count_o
        busy_o
        dbg_set_i dbg_way_i dbg_valid_o dbg_did_o dbg_pasid_o dbg_kind_o dbg_level_o dbg_vpn_o dbg_pfn_o
        dbg_perm_o dbg_plru_o)
    get_property(IOMMUSIM_RTL_IOTLB_PLUGIN_SOURCE_DIR GLOBAL PROPERTY IOMMUSIM_RTL_IOTLB_PLUGIN_SOURCE_DIR)
    get_property(IOMMUSIM_RTL_IOTLB_INCLUDE_DIR GLOBAL PROPERTY IOMMUSIM_RTL_IOTLB_INCLUDE_DIR)
    if(arg_UNPARSED_ARGUMENTS)
        message(FATAL_ERROR "${fn}: unknown arguments: ${arg_UNPARSED_ARGUMENTS}")
    endif()
    foreach(required NAME SOURCES TOP GEOMETRIES)
        if(NOT arg_${required})
            message(FATAL_ERROR "${fn}: ${required} is required")
        endif()
    endforeach()
    # Here, not at include time: verilate() reads the package's variables from its caller's scope,
    # and imported targets are per directory.
    find_package(verilator QUIET HINTS $ENV{VERILATOR_ROOT} /usr/share/verilator)
    find_package(Threads REQUIRED)
    if(NOT COMMAND verilate)
        message(FATAL_ERROR "${fn}(${arg_NAME}): Verilator's CMake package was not found (set VERILATOR_ROOT)")
    endif()

    # PORT_MAP: pairs of a contract port and the design's name for it.
    list(LENGTH arg_PORT_MAP map_length)
    math(EXPR odd "${map_length} % 2")
    if(odd)
        message(FATAL_ERROR "${fn}(${arg_NAME}): PORT_MAP needs pairs <contract port> <design port>")
    endif()
    foreach(port ${IOMMUSIM_RTL_IOTLB_PORTS})
        set(design_port_${port} ${port})
    endforeach()
    while(arg_PORT_MAP)
        list(POP_FRONT arg_PORT_MAP ours theirs)
        if(NOT ours IN_LIST IOMMUSIM_RTL_IOTLB_PORTS)
            message(FATAL_ERROR "${fn}(${arg_NAME}): PORT_MAP names '${ours}', which is no port of the contract "
                                "(docs/rtl-iotlb-contract.md)")
        endif()
        if(NOT theirs MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
            message(FATAL_ERROR "${fn}(${arg_NAME}): PORT_MAP maps ${ours} to '${theirs}', not a port name")
        endif()
        set(design_port_${ours} ${theirs})
    endwhile()

    set(geometry_parameters_given FALSE)
    foreach(p ${arg_PARAMETERS})
        if(p MATCHES "@SETS@|@WAYS@")
            set(geometry_parameters_given TRUE)
        endif()
        if(NOT p MATCHES "^[A-Za-z_][A-Za-z0-9_]*=")
            message(FATAL_ERROR "${fn}(${arg_NAME}): PARAMETERS entry '${p}' is not <Parameter>=<value>")
        endif()
    endforeach()

    string(MAKE_C_IDENTIFIER ${arg_NAME} id)
    set(gen_dir ${CMAKE_CURRENT_BINARY_DIR}/${arg_NAME}_plugin)
    add_library(${arg_NAME} MODULE ${IOMMUSIM_RTL_IOTLB_PLUGIN_SOURCE_DIR}/rtl_iotlb_plugin_entry.cc)
    set(includes "")
    set(entries "")
    set(seen "")
    foreach(geometry ${arg_GEOMETRIES})
        if(NOT geometry MATCHES "^([0-9]+)x([0-9]+)$")
            message(FATAL_ERROR "${fn}(${arg_NAME}): geometry '${geometry}' is not <sets>x<ways>")
        endif()
        set(sets ${CMAKE_MATCH_1})
        set(ways ${CMAKE_MATCH_2})
        math(EXPR sets_pow2 "${sets} & (${sets} - 1)")
        math(EXPR ways_pow2 "${ways} & (${ways} - 1)")
        if(sets LESS 1 OR sets GREATER 4096 OR NOT sets_pow2 EQUAL 0 OR
           ways LESS 1 OR ways GREATER 64 OR NOT ways_pow2 EQUAL 0)
            message(FATAL_ERROR "${fn}(${arg_NAME}): geometry ${geometry}: sets must be a power of two 1..4096 and "
                                "ways a power of two 1..64")
        endif()
        if(geometry IN_LIST seen)
            message(FATAL_ERROR "${fn}(${arg_NAME}): geometry ${geometry} given twice")
        endif()
        list(APPEND seen ${geometry})
        set(verilated V${id}_${sets}x${ways})
        set(gflags "")
        if(NOT geometry_parameters_given)
            list(APPEND gflags -GNumSets=${sets} -GNumWays=${ways})
        endif()
        foreach(p ${arg_PARAMETERS})
            string(REPLACE "@SETS@" ${sets} p "${p}")
            string(REPLACE "@WAYS@" ${ways} p "${p}")
            list(APPEND gflags -G${p})
        endforeach()
        verilate(${arg_NAME}
            SOURCES ${arg_SOURCES}
            TOP_MODULE ${arg_TOP}
            PREFIX ${verilated}
            TRACE_FST
            VERILATOR_ARGS --timescale 1ps/1ps ${arg_VERILATOR_ARGS} ${gflags})
        string(APPEND includes "#include \"${verilated}.h\"\n")
        string(APPEND entries "    X(${sets}, ${ways}, ${verilated}) \\\n")
    endforeach()
    set(ports "")
    foreach(port ${IOMMUSIM_RTL_IOTLB_PORTS})
        string(APPEND ports "#define IOMMUSIM_PORT_${port} ${design_port_${port}}\n")
    endforeach()
    file(CONFIGURE OUTPUT ${gen_dir}/iommusim_rtl_iotlb_plugin_config.h CONTENT
"// Generated by iommusim_add_rtl_iotlb(NAME ${arg_NAME}): what rtl_iotlb_plugin_entry.cc builds.
#pragma once
#define IOMMUSIM_PLUGIN_NAME \"${arg_NAME}\"
#define IOMMUSIM_PLUGIN_TOP \"${arg_TOP}\"
${includes}
// X(sets, ways, verilated class) once per geometry.
#define IOMMUSIM_PLUGIN_GEOMETRIES(X) \\
${entries}
// The design's port for each contract port.
${ports}")

    target_include_directories(${arg_NAME} PRIVATE ${gen_dir} ${IOMMUSIM_RTL_IOTLB_PLUGIN_SOURCE_DIR}
                               ${IOMMUSIM_RTL_IOTLB_INCLUDE_DIR})
    target_compile_features(${arg_NAME} PRIVATE cxx_std_17)
    # Verilated code is not the user's to fix: no warnings from it.
    target_compile_options(${arg_NAME} PRIVATE -w)
    target_compile_definitions(${arg_NAME} PRIVATE VM_COVERAGE=0 VM_SC=0 VM_TRACE=1 VM_TRACE_VCD=0 VM_TRACE_FST=1)
    target_link_libraries(${arg_NAME} PRIVATE Threads::Threads)
    set(version_script ${IOMMUSIM_RTL_IOTLB_PLUGIN_SOURCE_DIR}/rtl_iotlb_plugin.map)
    target_link_options(${arg_NAME} PRIVATE -Wl,--version-script=${version_script})
    # Undefined references fail the build, not the load (sanitizer runtimes live in the program).
    if(NOT IOMMUSIM_SANITIZE)
        target_link_options(${arg_NAME} PRIVATE -Wl,--no-undefined)
    endif()
    # iommusim's own sanitizer builds check its code; Verilator's runtime (fstapi.c stores through
    # misaligned pointers by design) is built without them. Its fuzz builds never run the RTL.
    if(IOMMUSIM_SANITIZE)
        target_compile_options(${arg_NAME} PRIVATE -fno-sanitize=all)
    endif()
    if(IOMMUSIM_FUZZ)
        target_compile_options(${arg_NAME} PRIVATE -O0 -g0)
    elseif(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
        # A project configured without a build type would get an unoptimised model, several times
        # slower in lockstep and iotlb-diff; the verilated code is built as Verilator's own makefiles do.
        target_compile_options(${arg_NAME} PRIVATE -O2)
    endif()
    set_target_properties(${arg_NAME} PROPERTIES
        POSITION_INDEPENDENT_CODE ON
        CXX_VISIBILITY_PRESET hidden
        VISIBILITY_INLINES_HIDDEN ON
        LINK_DEPENDS ${version_script})
endfunction()
