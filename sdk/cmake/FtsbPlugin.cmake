# FtsbPlugin.cmake - build an ftsb plugin library.
#
#   include(FtsbPlugin)          # from the installed SDK, or sdk/cmake in-tree
#   ftsb_add_plugin(myjudge SOURCES myjudge.c)
#
# Makes a MODULE library named <name>.so with hidden visibility, a version
# script that exports only ftsb_plugin_entry, -z defs (no undefined symbols
# left for load time) and -z now.  Inside the ftsb tree the library goes to
# the build tree's plugin folder, where `ftsb` finds it without installing.
get_filename_component(_ftsb_sdk_cmake_dir "${CMAKE_CURRENT_LIST_DIR}" ABSOLUTE)
if(NOT FTSB_SDK_INCLUDE_DIR)
  get_filename_component(FTSB_SDK_INCLUDE_DIR "${_ftsb_sdk_cmake_dir}/../include" ABSOLUTE)
endif()
if(NOT FTSB_SDK_MAP_FILE)
  if(EXISTS "${_ftsb_sdk_cmake_dir}/../ftsb_plugin.map")
    get_filename_component(FTSB_SDK_MAP_FILE "${_ftsb_sdk_cmake_dir}/../ftsb_plugin.map" ABSOLUTE)
  else()
    set(FTSB_SDK_MAP_FILE "${_ftsb_sdk_cmake_dir}/ftsb_plugin.map")
  endif()
endif()

function(ftsb_add_plugin name)
  cmake_parse_arguments(ARG "NO_INSTALL" "OUTPUT_DIR" "SOURCES;LIBS" ${ARGN})
  add_library(${name} MODULE ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  target_include_directories(${name} PRIVATE ${FTSB_SDK_INCLUDE_DIR})
  target_link_options(${name} PRIVATE
    "-Wl,--version-script=${FTSB_SDK_MAP_FILE}" "-Wl,-z,defs" "-Wl,-z,now")
  if(ARG_LIBS)
    target_link_libraries(${name} PRIVATE ${ARG_LIBS})
  endif()
  if(ARG_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIR})
  elseif(FTSB_PLUGIN_BUILD_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${FTSB_PLUGIN_BUILD_DIR})
  endif()
  if(FTSB_PLUGIN_INSTALL_DIR AND NOT ARG_NO_INSTALL)
    install(TARGETS ${name} LIBRARY DESTINATION ${FTSB_PLUGIN_INSTALL_DIR})
  endif()
endfunction()
