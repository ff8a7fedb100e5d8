# The HTML report opened in headless Chromium (report_chromium.sh): the
# charts are laid out and drawn.  Skips (77) when Debian's chromium is not
# installed; tools/install-deps.sh --test installs it.  Registered here,
# not in tests/lua/, for ctest's skip code.
add_test(NAME report_chromium COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/report_chromium.sh)
set_tests_properties(report_chromium PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300
  ENVIRONMENT "FTSB_PROGRESS=0;FTSB_PLUGIN_PATH=${CMAKE_BINARY_DIR}/tests/lua/plugins;FTSB_TEST_DIR=${FTSB_TEST_DIR};FTSB_BIN=$<TARGET_FILE:ftsb>;WORK=${CMAKE_CURRENT_BINARY_DIR}/work_report_chromium")
