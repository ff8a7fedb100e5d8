# Tests of the Llama engine's model side: loading and checking models,
# the forward pass against llama.cpp's reference logits, sampling, batched
# generation.  They link the engine (and cJSON for the manifest), not the
# core; those that need shared/testdata skip (exit 77) without it.  One
# BLAS thread: the models are tiny and the machine is shared.
file(GLOB _llama_model_tests CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_LIST_DIR}/test_llama_*.c)
foreach(_src ${_llama_model_tests})
  get_filename_component(_t ${_src} NAME_WE)
  add_executable(${_t} ${_src})
  target_include_directories(${_t} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(${_t} PRIVATE ftsb_llama_engine ftsb::cjson)
  add_test(NAME ${_t} COMMAND ${_t})
  set_tests_properties(${_t} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120
    ENVIRONMENT "FTSB_SHARED_DIR=${FTSB_SHARED_DIR};OPENBLAS_NUM_THREADS=1")
endforeach()
