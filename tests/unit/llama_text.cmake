# Tests of the Llama engine's file formats and text side: GGUF reader and
# writer, tokenizer, chat templates.  They link the engine only (not the
# core) and skip (exit 77) when the shared reference data is absent.
foreach(_t test_gguf test_tokenizer test_chat_template)
  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/${_t}.c)
    add_executable(${_t} ${CMAKE_CURRENT_LIST_DIR}/${_t}.c)
    target_include_directories(${_t} PRIVATE ${FTSB_TEST_DIR}/unit)
    target_link_libraries(${_t} PRIVATE ftsb_llama_engine)
    add_test(NAME ${_t} COMMAND ${_t})
    set_tests_properties(${_t} PROPERTIES SKIP_RETURN_CODE 77
      ENVIRONMENT "FTSB_SHARED_DIR=${FTSB_SHARED_DIR};FTSB_TEST_DIR=${FTSB_TEST_DIR}")
  endif()
endforeach()
