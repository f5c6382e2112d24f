/* kk_time.c - see kk_time.h. */
#include "kk_time.h"

#include <time.h>

double kk_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

double kk_now_ms(void) { return kk_now_s() * 1e3; }
