ftsb_unit_test(test_strbuf SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_strbuf.c)
ftsb_unit_test(test_pool SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_pool.c)
