/*
 * kk_time.h - the monotonic clock every subsystem times itself with (load
 * times, progress and ETA, timeouts, benchmarks). Monotonic: unaffected by
 * changes of the wall clock.
 */
#ifndef KK_TIME_H
#define KK_TIME_H

/* Seconds since an arbitrary fixed point (CLOCK_MONOTONIC). */
double kk_now_s(void);

/* The same in milliseconds. */
double kk_now_ms(void);

#endif
