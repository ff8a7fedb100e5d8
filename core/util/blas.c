/*
 * blas.c - choosing OpenBLAS's kernels and threads once per process.
 */
#include "../ftsb_setup.h"

#include <cblas.h>
#include <unistd.h>

#include "blas.h"
#include "log.h"

/* Kernel families that mean "this OpenBLAS did not recognise the CPU". */
static int is_generic_core(const char *name)
{
    return !name || !strcmp(name, "Prescott") || !strcmp(name, "Core2") ||
           !strcmp(name, "Nehalem") || !strcmp(name, "Katmai") ||
           !strcmp(name, "Unknown");
}

static const char *best_core_for_cpu(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
    return NULL;
}

void blas_ensure_fast_kernels(char **argv)
{
    const char *auto_env = getenv("FTSB_BLAS_AUTO");
    const char *core = openblas_get_corename();
    const char *best;

    if (getenv("OPENBLAS_CORETYPE") || (auto_env && !strcmp(auto_env, "0")))
        return;
    if (!is_generic_core(core) || !(best = best_core_for_cpu()))
        return;
    if (setenv("OPENBLAS_CORETYPE", best, 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    /* Still here: the re-start failed; go on with what we have. */
    log_msg(FTSB_LOG_WARN, NULL,
            "OpenBLAS chose its generic '%s' kernels and restarting with "
            "OPENBLAS_CORETYPE=%s failed (%s); matrix products will be slow",
            core ? core : "?", best, strerror(errno));
    unsetenv("OPENBLAS_CORETYPE");
}

void blas_set_threads(int threads)
{
    if (threads > 0)
        openblas_set_num_threads(threads);
}

int blas_threads(void)
{
    int n = openblas_get_num_threads();

    return n > 0 ? n : 1;
}

const char *blas_core_name(void)
{
    const char *name = openblas_get_corename();

    return name ? name : "unknown";
}
