# Fuzz targets of the Llama engine's file formats and text side.  Their
# seed corpora are tests/fuzz/corpus/gguf/ and corpus/tokenizer/.
ftsb_fuzz_target(gguf SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_gguf.c
                 LIBS ftsb_llama_engine)
ftsb_fuzz_target(tokenizer SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_tokenizer.c
                 LIBS ftsb_llama_engine)
