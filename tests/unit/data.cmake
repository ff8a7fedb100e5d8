# Dataset readers and writers (core/data/); fixtures in tests/data/datasets/.
ftsb_unit_test(test_dataset SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_dataset.c)
