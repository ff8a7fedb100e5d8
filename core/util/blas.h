/*
 * blas.h - the process's one BLAS setup, done by main() before any work.
 *
 * OpenBLAS picks its kernels when the library loads, from the CPU model.
 * Debian 12's OpenBLAS 0.3.21 does not know recent Xeon models and falls
 * back to its generic "Prescott" kernels, 4-6x slower here than the
 * AVX-512 ones (benchmarks/perf/README.md).  Since the choice is made at
 * load time, the only fix from inside the program is to set
 * OPENBLAS_CORETYPE and start again.  A user's own OPENBLAS_CORETYPE is
 * always respected; FTSB_BLAS_AUTO=0 turns the re-start off.
 */
#ifndef FTSB_BLAS_H
#define FTSB_BLAS_H

/* Re-executes the program with a suitable OPENBLAS_CORETYPE when OpenBLAS
 * fell back to generic kernels on a CPU that has AVX-512 or AVX2.
 * Returns only when no re-start is needed (or it failed: then the program
 * goes on with the slow kernels, after a warning). */
void blas_ensure_fast_kernels(char **argv);

/* Sets the BLAS thread count once (threads <= 0: leave the default). */
void blas_set_threads(int threads);

/* The BLAS thread count in use (>= 1). */
int blas_threads(void);

/* The kernel family OpenBLAS runs, e.g. "SkylakeX" (for provenance). */
const char *blas_core_name(void);

#endif /* FTSB_BLAS_H */
