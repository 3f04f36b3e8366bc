/* clocks: what a node makes of its NTP-style measurements of another node's clock.
 *
 * One measurement: our clock before a request (t0), theirs while answering (t1), ours after
 * the reply (t3). Their offset is t1 - (t0 + t3) / 2, known to within half the round trip
 * (t3 - t0) / 2: the request and the reply need not take equally long. On a busy machine or
 * network a round trip now and then takes tens of milliseconds and its offset is off by as
 * much, so, as NTP's clock filter does, the offset taken is the one of the fastest of the
 * last few round trips, and a clock counts as out of step only when it is beyond the limit
 * even at the near edge of that measurement's error. Pure functions; no locking. */
#ifndef VW_CLUSTER_CLOCKS_H
#define VW_CLUSTER_CLOCKS_H

#include <stdbool.h>
#include <stdint.h>

#define VW_CLOCK_SAMPLES 8 /* at one measurement every 2 s: the last 16 s */

struct vw_clock_filter {
    int64_t offset_us[VW_CLOCK_SAMPLES];
    int64_t rtt_us[VW_CLOCK_SAMPLES];
    int count, next;
};

/* Adds one measurement (t0, t1, t3 as above, microseconds). A negative round trip (our clock
 * stepped back meanwhile) is ignored. */
void vw_clock_add(struct vw_clock_filter *f, int64_t t0_us, int64_t t1_us, int64_t t3_us);
/* The offset (their clock minus ours) and round trip of the fastest kept measurement; false
 * when there is none. */
bool vw_clock_best(const struct vw_clock_filter *f, int64_t *offset_us, int64_t *rtt_us);
/* Whether their clock is more than limit_us from ours even allowing for the best
 * measurement's error (half its round trip). False when nothing is measured. */
bool vw_clock_out_of_step(const struct vw_clock_filter *f, int64_t limit_us);

#endif
