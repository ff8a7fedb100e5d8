# Dataset readers: every format, plus a write/read round trip per row set.
ftsb_fuzz_target(dataset SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_dataset.c)
