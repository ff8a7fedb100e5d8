/*
 * cli.h - the `ftsb` commands that work on model files directly, with the
 * native Llama engine and without plugins: `model-info` describes a GGUF
 * file, `make-model` writes a random-weight Llama model for tests and
 * benchmarks, `make-vocab` trains a vocabulary for such a model.  They
 * live in the executable, not in ftsb_core, so that the core library
 * stays independent of the engine.  Each takes the arguments
 * after its name and returns the process exit status (0 success, 1
 * failure, 2 usage error); messages go to stderr, results to stdout.
 */
#ifndef FTSB_CLI_H
#define FTSB_CLI_H

#include <stdbool.h>
#include <stddef.h>

int cli_model_info(int argc, char **argv);
int cli_make_model(int argc, char **argv);
int cli_make_vocab(int argc, char **argv);

/*
 * Copies len bytes of text from a model file (or an engine message that
 * quotes one) into out, which holds at least 4 * max + 8 bytes, so that it
 * is safe to print and to put in JSON: valid UTF-8 is kept, control
 * characters and bytes that break UTF-8 become "\xNN", and at most max
 * source bytes are used ("..." is appended then).  True when it cut.
 */
bool cli_clean(const char *s, size_t len, size_t max, char *out);

/* "ftsb: CMD: MSG" on stderr, MSG cleaned as above. */
void cli_print_err(const char *cmd, const char *msg);

#endif /* FTSB_CLI_H */
