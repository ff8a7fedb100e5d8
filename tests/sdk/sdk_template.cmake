# sdk_template.cmake - installs the SDK of the current build into a fresh
# prefix, builds sdk/template against that prefix alone (no ftsb sources
# on any include path), checks the library exports only its entry, and
# loads it through the real loader (sdk_load_check).
#
# MODE=cmake:     template's CMakeLists.txt with -DFTSB_SDK_PREFIX, then
#                 `cmake --install` of the plugin into the SDK's plugindir
# MODE=pkgconfig: cc $(pkg-config --cflags ftsb-sdk) -shared -fPIC
#                 -fvisibility=hidden; and the template's CMakeLists.txt
#                 finding the SDK through pkg-config alone
#
# Variables: MODE BUILD_DIR WORK TEMPLATE_DIR LIBDIR C_COMPILER GENERATOR
# LOAD_CHECK NM PKG_CONFIG EXPORTS_SCRIPT
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}\n${out}")
  endif()
endfunction()

set(prefix "${WORK}/prefix")
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

# 1. the SDK component of this build, into a prefix of our own
run("${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}"
    --component sdk)
foreach(f include/ftsb/ftsb.h include/ftsb/ext/finetune.h
          ${LIBDIR}/cmake/ftsb/FtsbPlugin.cmake
          ${LIBDIR}/cmake/ftsb/ftsb_plugin.map
          ${LIBDIR}/cmake/ftsb/FtsbSdkPaths.cmake
          ${LIBDIR}/pkgconfig/ftsb-sdk.pc
          ${LIBDIR}/ftsb/plugins
          share/ftsb/sdk/template/plugin-template.c
          share/doc/ftsb/sdk/ABI.md)
  if(NOT EXISTS "${prefix}/${f}")
    message(FATAL_ERROR "the installed SDK lacks ${f}")
  endif()
endforeach()
set(plugindir "${prefix}/${LIBDIR}/ftsb/plugins")

if(MODE STREQUAL "cmake")
  # 2. configure and build the template against the prefix only
  run("${CMAKE_COMMAND}" -S "${TEMPLATE_DIR}" -B "${WORK}/build"
      -G "${GENERATOR}" "-DCMAKE_C_COMPILER=${C_COMPILER}"
      "-DFTSB_SDK_PREFIX=${prefix}")
  run("${CMAKE_COMMAND}" --build "${WORK}/build")
  set(so "${WORK}/build/prefix_judge.so")
  # 3. install it: it must land in the SDK's plugin folder
  run("${CMAKE_COMMAND}" --install "${WORK}/build")
  if(NOT EXISTS "${plugindir}/prefix_judge.so")
    message(FATAL_ERROR "cmake --install did not put prefix_judge.so into "
            "${plugindir}")
  endif()
  set(load_path "${plugindir}")
elseif(MODE STREQUAL "pkgconfig")
  set(ENV{PKG_CONFIG_PATH} "${prefix}/${LIBDIR}/pkgconfig")
  execute_process(COMMAND "${PKG_CONFIG}" --cflags ftsb-sdk
                  RESULT_VARIABLE rc OUTPUT_VARIABLE cflags
                  ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config --cflags ftsb-sdk failed: ${err}")
  endif()
  execute_process(COMMAND "${PKG_CONFIG}" --variable=plugindir ftsb-sdk
                  OUTPUT_VARIABLE pc_plugindir
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  get_filename_component(pc_plugindir "${pc_plugindir}" REALPATH)
  get_filename_component(want "${plugindir}" REALPATH)
  if(NOT pc_plugindir STREQUAL want)
    message(FATAL_ERROR "plugindir is '${pc_plugindir}', expected '${want}'")
  endif()
  separate_arguments(cflags UNIX_COMMAND "${cflags}")
  file(MAKE_DIRECTORY "${WORK}/cc")
  set(so "${WORK}/cc/prefix_judge.so")
  run("${C_COMPILER}" ${cflags} -shared -fPIC -fvisibility=hidden
      -o "${so}" "${TEMPLATE_DIR}/plugin-template.c")
  set(load_path "${so}")
  # the template's CMakeLists.txt, finding the SDK by pkg-config alone
  run("${CMAKE_COMMAND}" -S "${TEMPLATE_DIR}" -B "${WORK}/build"
      -G "${GENERATOR}" "-DCMAKE_C_COMPILER=${C_COMPILER}")
  run("${CMAKE_COMMAND}" --build "${WORK}/build")
  set(FILES "${WORK}/build/prefix_judge.so")
  include("${EXPORTS_SCRIPT}")
else()
  message(FATAL_ERROR "MODE must be cmake or pkgconfig")
endif()

# 4. only the entry is exported, and the loader accepts and runs it
set(FILES "${so}")
include("${EXPORTS_SCRIPT}")
run("${LOAD_CHECK}" "${load_path}")
message(STATUS "template (${MODE}) built against ${prefix} and loaded")
