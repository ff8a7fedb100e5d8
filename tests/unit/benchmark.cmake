# Benchmark loaders (core/data/benchmark.c); the Lua side is tested by
# tests/lua/t_benchmark_*.lua.
ftsb_unit_test(test_benchmark SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_benchmark.c)
