# FtsbPlugin.cmake - build an ftsb plugin library, in the ftsb tree or
# against an installed SDK, with the same call:
#
#   include(<prefix>/lib/cmake/ftsb/FtsbPlugin.cmake)  # installed SDK
#   ftsb_add_plugin(myjudge SOURCES myjudge.c [LIBS ...]
#                   [OUTPUT_DIR dir] [NO_INSTALL])
#
# It makes a MODULE library named <name>.so (no "lib" prefix) with hidden
# visibility, the version script that exports only ftsb_plugin_entry,
# -z defs (an undefined symbol fails the link, not a run hours later) and
# -z now.  Why each matters is in sdk/ABI.md.
#
# Where things go:
#   - output: OUTPUT_DIR, else FTSB_PLUGIN_BUILD_DIR when set (the ftsb
#     tree sets it to its build tree's plugin folder, which ftsb searches
#     without installing), else the current build folder;
#   - install: FTSB_PLUGIN_INSTALL_DIR.  In the ftsb tree that is
#     <libdir>/ftsb/plugins under the install prefix; against an installed
#     SDK it defaults to the plugin folder of that ftsb installation
#     (FTSB_SDK_PLUGIN_DIR), where ftsb looks.  NO_INSTALL skips it.
#
# Variables set: FTSB_SDK_INCLUDE_DIR (the folder holding ftsb/),
# FTSB_SDK_MAP_FILE (the version script) and, for an installed SDK,
# FTSB_SDK_PLUGIN_DIR and FTSB_SDK_VERSION.
#
# Layouts: in-tree this file is sdk/cmake/ beside sdk/include/ and
# sdk/ftsb_plugin.map.  Installed, it sits in <libdir>/cmake/ftsb/ with the
# map and FtsbSdkPaths.cmake, which ftsb's sdk/CMakeLists.txt generates
# with the other folders' places relative to it, so a moved installation
# still works.
get_filename_component(_ftsb_sdk_cmake_dir "${CMAKE_CURRENT_LIST_DIR}" ABSOLUTE)

if(EXISTS "${_ftsb_sdk_cmake_dir}/FtsbSdkPaths.cmake")
  # installed SDK
  include("${_ftsb_sdk_cmake_dir}/FtsbSdkPaths.cmake")
  if(NOT FTSB_SDK_MAP_FILE)
    set(FTSB_SDK_MAP_FILE "${_ftsb_sdk_cmake_dir}/ftsb_plugin.map")
  endif()
  if(NOT DEFINED FTSB_PLUGIN_INSTALL_DIR AND FTSB_SDK_PLUGIN_DIR)
    set(FTSB_PLUGIN_INSTALL_DIR "${FTSB_SDK_PLUGIN_DIR}" CACHE PATH
        "Where `cmake --install` puts ftsb plugins")
  endif()
else()
  # the ftsb source tree
  if(NOT FTSB_SDK_INCLUDE_DIR)
    get_filename_component(FTSB_SDK_INCLUDE_DIR
                           "${_ftsb_sdk_cmake_dir}/../include" ABSOLUTE)
  endif()
  if(NOT FTSB_SDK_MAP_FILE)
    get_filename_component(FTSB_SDK_MAP_FILE
                           "${_ftsb_sdk_cmake_dir}/../ftsb_plugin.map" ABSOLUTE)
  endif()
endif()

foreach(_ftsb_part "${FTSB_SDK_INCLUDE_DIR}/ftsb/ftsb.h" "${FTSB_SDK_MAP_FILE}")
  if(NOT EXISTS "${_ftsb_part}")
    message(FATAL_ERROR "FtsbPlugin.cmake: '${_ftsb_part}' is missing; "
            "the ftsb SDK beside '${_ftsb_sdk_cmake_dir}' is incomplete, "
            "reinstall it")
  endif()
endforeach()

function(ftsb_add_plugin name)
  cmake_parse_arguments(ARG "NO_INSTALL" "OUTPUT_DIR" "SOURCES;LIBS" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "ftsb_add_plugin(${name}): no SOURCES given")
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON
    LINK_DEPENDS "${FTSB_SDK_MAP_FILE}")
  target_include_directories(${name} PRIVATE "${FTSB_SDK_INCLUDE_DIR}")
  target_link_options(${name} PRIVATE
    "-Wl,--version-script=${FTSB_SDK_MAP_FILE}" "-Wl,-z,now")
  # clang does not link the sanitizer runtimes into shared objects, so
  # their symbols stay undefined until the executable provides them.
  if(NOT (FTSB_SANITIZE AND CMAKE_C_COMPILER_ID MATCHES "Clang"))
    target_link_options(${name} PRIVATE "-Wl,-z,defs")
  endif()
  if(ARG_LIBS)
    target_link_libraries(${name} PRIVATE ${ARG_LIBS})
  endif()
  if(ARG_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES
      LIBRARY_OUTPUT_DIRECTORY "${ARG_OUTPUT_DIR}")
  elseif(FTSB_PLUGIN_BUILD_DIR)
    set_target_properties(${name} PROPERTIES
      LIBRARY_OUTPUT_DIRECTORY "${FTSB_PLUGIN_BUILD_DIR}")
  endif()
  if(FTSB_PLUGIN_INSTALL_DIR AND NOT ARG_NO_INSTALL)
    install(TARGETS ${name} LIBRARY DESTINATION "${FTSB_PLUGIN_INSTALL_DIR}")
  endif()
endfunction()
