/* timeutil: the clocks. Monotonic microseconds for everything measured inside one process;
 * realtime milliseconds since the epoch for moments that are stored or shared (an incident's
 * expiry survives a restart and means the same on every node). */
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

static inline int64_t vw_realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* CLOCK_REALTIME in microseconds since the epoch: what frame logs and cluster clocks use. */
static inline int64_t vw_realtime_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif
