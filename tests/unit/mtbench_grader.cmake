# The MT-Bench grader's rating reader and prompts
# (plugins/judges/mtbench_grader/mt_parse.c), host-free, compiled straight
# into the test.
ftsb_unit_test(test_mtbench_parse
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_mtbench_parse.c
          ${PROJECT_SOURCE_DIR}/plugins/judges/mtbench_grader/mt_parse.c
  LIBS m)
target_include_directories(test_mtbench_parse PRIVATE
  ${PROJECT_SOURCE_DIR}/plugins/judges/mtbench_grader)
