# check_exports.cmake - a plugin library exports ftsb_plugin_entry and
# nothing else: any other default-visibility symbol could bind to another
# plugin's copy of the same code.
#
#   cmake -DNM=nm -DFILES="a.so;b.so" [-DEXPECT_EXTRA="sym;..."] -P check_exports.cmake
#
# EXPECT_EXTRA names the leaked symbols a negative fixture must show: the
# check then passes only when exactly those leak, so it cannot pass for a
# wrong reason (a missing file, a broken nm).
foreach(f ${FILES})
  if(NOT EXISTS "${f}")
    message(FATAL_ERROR "no such library: ${f}")
  endif()
  execute_process(COMMAND ${NM} -D --defined-only "${f}"
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} failed on ${f}: ${err}")
  endif()
  string(REPLACE "\n" ";" lines "${out}")
  set(entry OFF)
  set(extra "")
  foreach(line ${lines})
    if(line MATCHES "^[0-9a-fA-F]* *[A-Za-z] ([^ ]+)$")
      set(sym "${CMAKE_MATCH_1}")
      if(sym STREQUAL "ftsb_plugin_entry")
        set(entry ON)
      else()
        list(APPEND extra "${sym}")
      endif()
    endif()
  endforeach()
  if(NOT entry)
    message(FATAL_ERROR "${f} does not export ftsb_plugin_entry")
  endif()
  list(SORT extra)
  set(want "${EXPECT_EXTRA}")
  list(SORT want)
  if(NOT "${extra}" STREQUAL "${want}")
    message(FATAL_ERROR "${f} exports '${extra}' besides ftsb_plugin_entry "
            "(expected '${want}'); build it with -fvisibility=hidden and the "
            "SDK's version script")
  endif()
  message(STATUS "${f}: exports ftsb_plugin_entry only"
          " (plus the expected '${want}')")
endforeach()
