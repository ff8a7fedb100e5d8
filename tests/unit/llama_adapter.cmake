# Tests of the Llama engine's adapter file formats: the safetensors reader
# and writer (with the malformed corpus of tests/data/safetensors/) and
# LoRA adapters in llama.cpp GGUF and PEFT form.  They link the engine and
# cJSON (for manifest.json), not the core; what needs shared/testdata
# skips (exit 77) without it.
foreach(_t test_safetensors test_adapter)
  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/${_t}.c)
    add_executable(${_t} ${CMAKE_CURRENT_LIST_DIR}/${_t}.c)
    target_include_directories(${_t} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
    target_link_libraries(${_t} PRIVATE ftsb_llama_engine ftsb::cjson)
    add_test(NAME ${_t} COMMAND ${_t})
    set_tests_properties(${_t} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120
      ENVIRONMENT "FTSB_SHARED_DIR=${FTSB_SHARED_DIR};FTSB_TEST_DIR=${FTSB_TEST_DIR};OPENBLAS_NUM_THREADS=1")
  endif()
endforeach()
