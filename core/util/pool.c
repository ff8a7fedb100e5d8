/*
 * pool.c - the process's thread pool (pool.h).  A job is (fn, arg,
 * n_tasks) and a generation number: workers sleep until the generation
 * moves, then take task indices from a shared counter until none is left;
 * the caller takes tasks too and sleeps until the last one ends.  A
 * mutex guards everything; tasks run outside it.
 */
#define _POSIX_C_SOURCE 200809L
#include "pool.h"

#include <pthread.h>
#include <stdlib.h>

#define POOL_MAX_WORKERS 255

static struct {
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    pool_task_fn fn;
    void *arg;
    int32_t n_tasks, next, pending;
    uint64_t gen;
    int busy, quit, n_workers;
    pthread_t th[POOL_MAX_WORKERS];
} P = {.mu = PTHREAD_MUTEX_INITIALIZER,
       .go = PTHREAD_COND_INITIALIZER,
       .done = PTHREAD_COND_INITIALIZER};

/* Runs tasks of the current job until none is left; mu held on entry and
 * exit. */
static void drain(void)
{
    while (P.next < P.n_tasks) {
        int32_t i = P.next++;
        pool_task_fn fn = P.fn;
        void *arg = P.arg;
        pthread_mutex_unlock(&P.mu);
        fn(arg, i);
        pthread_mutex_lock(&P.mu);
        if (--P.pending == 0)
            pthread_cond_signal(&P.done);
    }
}

static void *worker(void *unused)
{
    uint64_t seen = 0;

    (void)unused;
    pthread_mutex_lock(&P.mu);
    for (;;) {
        while (P.gen == seen && !P.quit)
            pthread_cond_wait(&P.go, &P.mu);
        if (P.quit)
            break;
        seen = P.gen;
        drain();
    }
    pthread_mutex_unlock(&P.mu);
    return NULL;
}

int pool_start(int threads)
{
    int want = threads - 1;

    if (want > POOL_MAX_WORKERS)
        want = POOL_MAX_WORKERS;
    pthread_mutex_lock(&P.mu);
    while (P.n_workers < want &&
           pthread_create(&P.th[P.n_workers], NULL, worker, NULL) == 0)
        P.n_workers++;
    pthread_mutex_unlock(&P.mu);
    return P.n_workers + 1;
}

void pool_stop(void)
{
    pthread_mutex_lock(&P.mu);
    P.quit = 1;
    pthread_cond_broadcast(&P.go);
    pthread_mutex_unlock(&P.mu);
    for (int i = 0; i < P.n_workers; i++)
        pthread_join(P.th[i], NULL);
    pthread_mutex_lock(&P.mu);
    P.n_workers = 0;
    P.quit = 0;
    pthread_mutex_unlock(&P.mu);
}

int32_t pool_threads(void)
{
    int32_t n;

    pthread_mutex_lock(&P.mu);
    n = P.n_workers + 1;
    pthread_mutex_unlock(&P.mu);
    return n;
}

void pool_for(int32_t n_tasks, pool_task_fn fn, void *arg)
{
    if (n_tasks <= 0)
        return;
    pthread_mutex_lock(&P.mu);
    if (P.busy || P.n_workers == 0 || n_tasks == 1) {
        /* another job runs (or nothing to share): do it here */
        pthread_mutex_unlock(&P.mu);
        for (int32_t i = 0; i < n_tasks; i++)
            fn(arg, i);
        return;
    }
    P.busy = 1;
    P.fn = fn;
    P.arg = arg;
    P.n_tasks = n_tasks;
    P.next = 0;
    P.pending = n_tasks;
    P.gen++;
    pthread_cond_broadcast(&P.go);
    drain();
    while (P.pending > 0)
        pthread_cond_wait(&P.done, &P.mu);
    P.busy = 0;
    pthread_mutex_unlock(&P.mu);
}
