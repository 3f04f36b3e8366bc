/* timeutil: the one clock every module uses (monotonic, microseconds). */
#ifndef VW_TIMEUTIL_H
#define VW_TIMEUTIL_H

#include <stdint.h>
#include <time.h>

static inline int64_t vw_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline double vw_now_s(void)
{
    return (double)vw_now_us() / 1e6;
}

#endif
