/*
 * lexdb.c - see lexdb.h. (Stub: no dictionary yet.)
 */
#include <stdlib.h>

#include "lexdb.h"

kk_status kk_lexdb_open(const char *path, kk_lexdb **out, kk_error *err)
{
    *out = NULL;
    return kk_error_set(err, KK_ERR_NOT_FOUND, "lexdb: '%s': not implemented yet", path);
}

kk_status kk_lexdb_open_default(kk_lexdb **out, kk_error *err)
{
    *out = NULL;
    return kk_error_set(err, KK_ERR_NOT_FOUND, "lexdb: no dictionary yet");
}

void kk_lexdb_close(kk_lexdb *db) { (void)db; }

size_t kk_lexdb_lookup(const kk_lexdb *db, const char *word, size_t len, const char **prons, size_t max)
{
    (void)db, (void)word, (void)len, (void)prons, (void)max;
    return 0;
}

size_t kk_lexdb_size(const kk_lexdb *db)
{
    (void)db;
    return 0;
}
