# check_headers.cmake - compiles each public SDK header on its own, a
# translation unit using the SDK's macros, and (for C) the template
# plugin, with one compiler and language standard, warnings as errors.
# A header that needs another to be included first, or that a pedantic
# C99 or C++17 compiler rejects, breaks plugin authors' builds; this
# catches it here (after CLAP's header matrix).
#
#   cmake -DCOMPILER=gcc -DLANG=c -DSTD=c99 -DINCLUDE=<sdk/include>
#         -DWORK=<dir> [-DTEMPLATE=<plugin-template.c>] -P check_headers.cmake
if(LANG STREQUAL "c")
  set(ext c)
  set(flags -Wall -Wextra -pedantic -Werror -Wshadow -Wconversion
      -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual)
else()
  set(ext cpp)
  set(flags -Wall -Wextra -pedantic -Werror -Wshadow -Wconversion
      -Wcast-qual)
endif()

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
file(GLOB_RECURSE headers RELATIVE "${INCLUDE}" "${INCLUDE}/ftsb/*.h")
list(SORT headers)
if(NOT headers)
  message(FATAL_ERROR "no headers under ${INCLUDE}/ftsb")
endif()

set(units "")
foreach(h ${headers})
  string(MAKE_C_IDENTIFIER "${h}" id)
  # A TU must declare something (ISO C); the typedef is harmless.
  file(WRITE "${WORK}/${id}.${ext}"
       "#include <${h}>\ntypedef int ftsb_header_test_${id};\n")
  list(APPEND units "${WORK}/${id}.${ext}")
endforeach()

if(LANG STREQUAL "c")
  file(WRITE "${WORK}/usage.c" [[
#include <ftsb/ftsb.h>

int ftsb_header_usage(const ftsb_host *h);
int ftsb_header_usage(const ftsb_host *h)
{
    unsigned v = FTSB_ABI_VERSION_MAJOR(FTSB_ABI_VERSION) +
                 FTSB_ABI_VERSION_MINOR(FTSB_ABI_VERSION);
    return FTSB_HOST_HAS(h, cache_put) + (int)v +
           (int)sizeof FTSB_BUILD_SIGNATURE + (int)sizeof FTSB_EXT_FINETUNE;
}
]])
  list(APPEND units "${WORK}/usage.c")
  if(TEMPLATE)
    list(APPEND units "${TEMPLATE}")
  endif()
else()
  file(WRITE "${WORK}/usage.cpp" [[
#include <ftsb/ftsb.h>

#include <type_traits>

static_assert(std::is_standard_layout<ftsb_host>::value &&
              std::is_trivial<ftsb_entry>::value &&
              std::is_trivial<ftsb_plugin_desc>::value,
              "SDK structs must stay plain C structs");

int ftsb_header_usage(const ftsb_host *h);
int ftsb_header_usage(const ftsb_host *h)
{
    return FTSB_HOST_HAS(h, cache_put) ? 1 : 0;
}

// A C++ plugin defines the entry with C linkage, as declared.
const ftsb_entry *ftsb_plugin_entry(void)
{
    return nullptr;
}
]])
  list(APPEND units "${WORK}/usage.cpp")
endif()

set(failed "")
foreach(u ${units})
  get_filename_component(name "${u}" NAME_WE)
  execute_process(
    COMMAND "${COMPILER}" -std=${STD} ${flags} -I "${INCLUDE}"
            -c "${u}" -o "${WORK}/${name}.o"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message("FAIL ${u}\n${out}")
    list(APPEND failed "${u}")
  endif()
endforeach()
list(LENGTH units n)
if(failed)
  message(FATAL_ERROR "${COMPILER} -std=${STD}: ${failed} failed")
endif()
message(STATUS "${COMPILER} -std=${STD}: ${n} units compile cleanly")
