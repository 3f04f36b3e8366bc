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

/* The CLOCK_REALTIME moment `ms` from now, as pthread_cond_timedwait and
 * pthread_timedjoin_np take their deadlines. */
static inline struct timespec vw_realtime_after(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

#endif
