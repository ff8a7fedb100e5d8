# Tests of the Llama engine's training inputs and outputs: examples to
# token sequences and the epoch order, learning-rate schedules, training
# checkpoints (with the GGUF fuzz corpus as hostile checkpoints) and saving
# a model as GGUF.  They link the engine only and make their own
# random-weight models; the GGUF corpus comes from FTSB_TEST_DIR and the
# reference models (an optional byte-identity check) from FTSB_SHARED_DIR.
# One BLAS thread: the models are tiny.
foreach(_t test_train_data test_train_schedule test_train_ckpt test_model_save)
  add_executable(${_t} ${CMAKE_CURRENT_LIST_DIR}/${_t}.c)
  target_include_directories(${_t} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(${_t} PRIVATE ftsb_llama_engine)
  add_test(NAME ${_t} COMMAND ${_t})
  set_tests_properties(${_t} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120
    ENVIRONMENT "FTSB_SHARED_DIR=${FTSB_SHARED_DIR};FTSB_TEST_DIR=${FTSB_TEST_DIR};OPENBLAS_NUM_THREADS=1")
endforeach()
