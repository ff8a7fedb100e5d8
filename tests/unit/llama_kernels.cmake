# Unit tests of the Llama engine's numeric kernels (conversions, the matmul
# wrapper, the forward/backward kernels).  They link the engine library
# only, not the core; each runs in well under a second.
foreach(_t test_kernels_fp16 test_matmul test_kernels)
  add_executable(${_t} ${CMAKE_CURRENT_LIST_DIR}/${_t}.c)
  target_include_directories(${_t} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(${_t} PRIVATE ftsb_llama_engine)
  add_test(NAME ${_t} COMMAND ${_t})
  # one BLAS thread: the tests are tiny, and the machine is shared
  set_tests_properties(${_t} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 60
    ENVIRONMENT "OPENBLAS_NUM_THREADS=1")
endforeach()
