/*
 * ledger.c - reporting the paid calls a killed run left in flight.
 *
 * An attempt is committed to the ledger before its request is sent and
 * ended after; one still open at start-up was in flight when an earlier
 * process died, so the provider may have billed it without its answer
 * being kept, and it is about to be sent again.  That is said once, with
 * the count, and the rows are settled so the next run does not say it
 * again (reliability.md R3, §4.5).
 */
#include "../ftsb_setup.h"

#include <pthread.h>

#include "../store/store.h"
#include "../util/log.h"
#include "net.h"

static pthread_mutex_t settled_lock = PTHREAD_MUTEX_INITIALIZER;
static char **settled;          /* store paths already settled */
static size_t n_settled;

static int seen(const char *path)
{
    for (size_t i = 0; i < n_settled; i++)
        if (strcmp(settled[i], path) == 0)
            return 1;
    return 0;
}

ftsb_status net_ledger_settle(struct store *store, const char *label,
                              struct err *err)
{
    const char *path = store_path(store);
    int64_t n = 0;
    char **grown, *copy;
    ftsb_status st = FTSB_OK;

    pthread_mutex_lock(&settled_lock);
    if (seen(path))
        goto out;
    if ((st = store_calls_in_doubt(store, &n, err)))
        goto out;
    if (n > 0) {
        log_msg(FTSB_LOG_WARN, label,
                "%lld paid call%s recorded in '%s' %s in flight when an "
                "earlier run stopped: %s answer%s %s lost, and sending %s "
                "again may bill %s twice", (long long)n, n == 1 ? "" : "s",
                path, n == 1 ? "was" : "were", n == 1 ? "its" : "their",
                n == 1 ? "" : "s", n == 1 ? "was" : "were",
                n == 1 ? "it" : "them", n == 1 ? "it" : "them");
        st = store_calls_settle_in_doubt(
            store, "in doubt: in flight when the process stopped", NULL, err);
        if (st)
            goto out;
    }
    copy = strdup(path);
    grown = copy ? realloc(settled, (n_settled + 1) * sizeof *settled) : NULL;
    if (!grown) {
        free(copy);
        st = err_set(err, FTSB_E_NOMEM, "out of memory");
        goto out;
    }
    settled = grown;
    settled[n_settled++] = copy;
out:
    pthread_mutex_unlock(&settled_lock);
    return st;
}
