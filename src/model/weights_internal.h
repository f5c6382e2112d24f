/*
 * weights_internal.h - helpers shared by weights.c (reader) and convert.c
 * (writer); not part of the public API.
 */
#ifndef KK_WEIGHTS_INTERNAL_H
#define KK_WEIGHTS_INTERNAL_H

#include <stddef.h>

#include "weights.h"

size_t kk_dtype_size(kk_dtype dt); /* 0 for Q4 */
int kk_host_little_endian(void);
/* Opens a converted file (no cache logic); fills stats.open_ms. */
kk_status kk_weights_open_kkw(const char *path, kk_weights **out, kk_error *err);
/* open_ms < 0 keeps the time measured by kk_weights_open_kkw. */
void kk_weights_set_stats(kk_weights *w, double convert_ms, int from_cache, double open_ms);

#endif
