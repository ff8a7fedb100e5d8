# The paired tests of reports (core/report/report_paired.c): McNemar's
# p-values and the paired bootstrap against values computed by hand.
ftsb_unit_test(test_report_paired
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_report_paired.c)
