# Fuzz target of the safetensors reader and writer, which also drives the
# PEFT adapter loader.  Seed corpus: tests/fuzz/corpus/safetensors/;
# dictionary: tests/data/safetensors/fuzz.dict.
if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/fuzz_safetensors.c)
  ftsb_fuzz_target(safetensors SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_safetensors.c
                   LIBS ftsb_llama_engine)
endif()
