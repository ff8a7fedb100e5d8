/*
 * test_pool.c - the host's thread pool (core/util/pool.h): every task
 * index runs exactly once, on more than one thread when the pool has
 * workers; a call from inside a task, and calls from two threads at
 * once, complete (inline) instead of deadlocking; a pool without
 * workers runs everything on the caller.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "util/pool.h"

#define N 1000

static atomic_int hits[N];
static pthread_t seen_threads[64];
static atomic_int n_seen;
static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;

static void note_thread(void)
{
    pthread_t self = pthread_self();
    pthread_mutex_lock(&seen_mu);
    int known = 0;
    for (int i = 0; i < n_seen; i++)
        known |= pthread_equal(seen_threads[i], self);
    if (!known && n_seen < 64)
        seen_threads[n_seen++] = self;
    pthread_mutex_unlock(&seen_mu);
}

static void count_task(void *arg, int32_t i)
{
    (void)arg;
    atomic_fetch_add(&hits[i], 1);
    note_thread();
    /* a little work, so that workers get a share */
    volatile double x = 0;
    for (int k = 0; k < 20000; k++)
        x += k * 0.5;
}

static void reset(void)
{
    for (int i = 0; i < N; i++)
        atomic_store(&hits[i], 0);
    n_seen = 0;
}

static int all_once(void)
{
    for (int i = 0; i < N; i++)
        if (atomic_load(&hits[i]) != 1)
            return 0;
    return 1;
}

TEST(inline_without_workers)
{
    reset();
    CHECK(pool_threads() == 1);
    pool_for(N, count_task, NULL);
    CHECK(all_once());
    CHECK(n_seen == 1);
}

TEST(every_task_once_on_workers)
{
    CHECK(pool_start(3) == 3);
    CHECK(pool_threads() == 3);
    for (int round = 0; round < 20; round++) {
        reset();
        pool_for(N, count_task, NULL);
        CHECK(all_once());
    }
    CHECK(n_seen > 1);
    pool_for(0, count_task, NULL); /* nothing to do */
}

static atomic_int inner_calls;
static void inner_task(void *arg, int32_t i)
{
    (void)arg;
    (void)i;
    atomic_fetch_add(&inner_calls, 1);
}

static void nesting_task(void *arg, int32_t i)
{
    (void)arg;
    (void)i;
    pool_for(10, inner_task, NULL); /* the pool is busy: runs inline */
}

TEST(nested_call_runs_inline)
{
    inner_calls = 0;
    pool_for(8, nesting_task, NULL);
    CHECK(inner_calls == 80);
}

static void *other_thread(void *arg)
{
    (void)arg;
    for (int r = 0; r < 50; r++)
        pool_for(16, inner_task, NULL);
    return NULL;
}

TEST(two_callers_at_once)
{
    pthread_t th;
    inner_calls = 0;
    CHECK(pthread_create(&th, NULL, other_thread, NULL) == 0);
    for (int r = 0; r < 50; r++)
        pool_for(16, inner_task, NULL);
    pthread_join(th, NULL);
    CHECK(inner_calls == 2 * 50 * 16);
    pool_stop();
    CHECK(pool_threads() == 1);
}

int main(void)
{
    RUN(inline_without_workers);
    RUN(every_task_once_on_workers);
    RUN(nested_call_runs_inline);
    RUN(two_callers_at_once);
    return test_summary();
}
