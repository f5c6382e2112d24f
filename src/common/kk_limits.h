/*
 * kk_limits.h - bounds that more than one layer enforces, defined once so
 * that what one layer accepts the next never refuses (or, worse, trusts
 * blindly): the parsers skip what is past them, the server's API refuses
 * it with a 400, and kk_render refuses it with KK_ERR_ARG before it sizes a
 * track from it. Header-only: constants, nothing to link.
 */
#ifndef KK_LIMITS_H
#define KK_LIMITS_H

#include <stdint.h>

/* The latest time anything may have: a cue's start or end, a word's time,
 * the end of a rendered track. 1000 hours is far past any real programme
 * (the longest audiobooks run about 150 hours), yet small enough that the
 * samples of a track so long (24 kHz) and their byte counts fit in 64 bits
 * with room to spare. */
#define KK_TIME_MAX_HOURS 1000
#define KK_TIME_MAX_MS ((int64_t)KK_TIME_MAX_HOURS * 3600 * 1000)

#endif
