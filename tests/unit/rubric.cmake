# The rubric judge's score parser and prompt renderer
# (plugins/judges/rubric/parse.c, prompt.c), which are host-free and so
# are compiled straight into the test.
ftsb_unit_test(test_rubric_parse
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_rubric_parse.c
          ${PROJECT_SOURCE_DIR}/plugins/judges/rubric/parse.c
          ${PROJECT_SOURCE_DIR}/plugins/judges/rubric/prompt.c)
target_include_directories(test_rubric_parse PRIVATE
  ${PROJECT_SOURCE_DIR}/plugins/judges/rubric)
