/*
 * ledger_dump.c - prints the paid-call ledger of an ftsb run store, one
 * call per line ("id<TAB>what<TAB>work_key<TAB>outcome", outcome "-" for
 * a call without an end), so shell tests can compare it with what the
 * mock server saw without needing the sqlite3 command.  The store is
 * opened read-only.
 */
#include <stdio.h>

#include <sqlite3.h>

int main(int argc, char **argv)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc;

    if (argc != 2) {
        fputs("usage: ledger_dump STORE\n", stderr);
        return 2;
    }
    if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT id, what, work_key, "
                           "coalesce(outcome, '-') FROM calls ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "ledger_dump: cannot read '%s': %s\n", argv[1],
                db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return 1;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        printf("%lld\t%s\t%s\t%s\n", (long long)sqlite3_column_int64(st, 0),
               (const char *)sqlite3_column_text(st, 1),
               (const char *)sqlite3_column_text(st, 2),
               (const char *)sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc == SQLITE_DONE ? 0 : 1;
}
