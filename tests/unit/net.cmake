# The HTTP client (core/net/): parsers, redaction, keys, and the retry
# layer against the mock server of tests/servers/ on a virtual clock.
ftsb_unit_test(test_http SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_http.c
  ARGS $<TARGET_FILE:mock_openai>)
