# The classifier judge's answer reader, category parser and prompt
# renderer (plugins/judges/classifier/cls_parse.c), host-free, compiled
# straight into the test.
ftsb_unit_test(test_classifier_parse
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_classifier_parse.c
          ${PROJECT_SOURCE_DIR}/plugins/judges/classifier/cls_parse.c)
target_include_directories(test_classifier_parse PRIVATE
  ${PROJECT_SOURCE_DIR}/plugins/judges/classifier)
