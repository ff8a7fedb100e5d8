# The run store (core/store/) and the SHA-256 behind its cache keys.
ftsb_unit_test(test_store SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_store.c)
ftsb_unit_test(test_sha256 SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sha256.c)
