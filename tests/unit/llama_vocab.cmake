# Tests of the Llama engine's vocabulary trainer (vocab_train.h): trained
# vocabularies load, and our tokenizer reproduces the trainer's cut of
# the training text.  They link the engine only and need no shared data.
if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/test_vocab_train.c)
  add_executable(test_vocab_train
                 ${CMAKE_CURRENT_LIST_DIR}/test_vocab_train.c)
  target_include_directories(test_vocab_train PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(test_vocab_train PRIVATE ftsb_llama_engine)
  add_test(NAME test_vocab_train COMMAND test_vocab_train)
  set_tests_properties(test_vocab_train PROPERTIES TIMEOUT 120)
endif()
