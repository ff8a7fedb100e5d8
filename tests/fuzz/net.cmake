# The HTTP client's parsers and redaction (core/net/), and the openai
# backend's response readers, compiled in from the plugin's folder.
ftsb_fuzz_target(http SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_http.c)
ftsb_fuzz_target(http_openai SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_http_openai.c
  ${PROJECT_SOURCE_DIR}/plugins/backends/openai/openai_parse.c)
