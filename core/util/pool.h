/*
 * pool.h - the process's one thread pool, lent to plugins through the
 * host table (parallel_for, ABI 1.2) so that no plugin starts threads of
 * its own (DESIGN D5).  It has as many threads as BLAS (--threads): the
 * calling thread plus workers that wait passively on a condition
 * variable, because plugins use the pool only between BLAS calls (the
 * two pools are never busy at once, and idle workers must not steal the
 * cores OpenBLAS is about to use).
 *
 * One job at a time: a call made while another job runs (from another
 * thread, or from inside a task) runs its tasks inline on the calling
 * thread, so callers never deadlock and never need to know.
 */
#ifndef FTSB_POOL_H
#define FTSB_POOL_H

#include <stdint.h>

typedef void (*pool_task_fn)(void *arg, int32_t task);

/* Starts threads - 1 workers (threads <= 1: none; the pool then runs
 * everything inline).  Call once, before any pool_for.  Returns the
 * thread count in use (fewer when a thread cannot be created). */
int pool_start(int threads);

/* Stops and joins the workers (at exit; optional). */
void pool_stop(void);

/* Threads a job runs on (workers + the caller), >= 1. */
int32_t pool_threads(void);

/* Calls fn(arg, i) once for each i in [0, n_tasks), spread over the
 * pool's threads, and returns when every call has returned. */
void pool_for(int32_t n_tasks, pool_task_fn fn, void *arg);

#endif /* FTSB_POOL_H */
