# Reports (core/report/): summary.json, metrics.csv, report.md, report.html
# and records.jsonl from a store written by hand.
ftsb_unit_test(test_report SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_report.c)
