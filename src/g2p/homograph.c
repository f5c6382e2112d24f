/*
 * homograph.c - see homograph.h. (Stub: no table yet.)
 */
#include "homograph.h"

const char *kk_homograph_pick(const kk_hword *words, size_t n, size_t i, int british)
{
    (void)words, (void)n, (void)i, (void)british;
    return NULL;
}
