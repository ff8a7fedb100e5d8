# Tests of the Llama engine's training passes and trainer: gradients of a
# whole tiny model against finite differences, the trainer's loop,
# checkpoints and resume.  They link the engine only.  One BLAS thread.
foreach(_t test_train_grad test_trainer)
  add_executable(${_t} ${CMAKE_CURRENT_LIST_DIR}/${_t}.c)
  target_include_directories(${_t} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(${_t} PRIVATE ftsb_llama_engine)
  add_test(NAME ${_t} COMMAND ${_t})
  set_tests_properties(${_t} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120
    ENVIRONMENT "OPENBLAS_NUM_THREADS=1")
endforeach()
