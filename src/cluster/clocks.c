#include "cluster/clocks.h"

void vw_clock_add(struct vw_clock_filter *f, int64_t t0_us, int64_t t1_us, int64_t t3_us)
{
    if (t3_us < t0_us)
        return;
    f->offset_us[f->next] = t1_us - (t0_us + t3_us) / 2;
    f->rtt_us[f->next] = t3_us - t0_us;
    f->next = (f->next + 1) % VW_CLOCK_SAMPLES;
    if (f->count < VW_CLOCK_SAMPLES)
        f->count++;
}

bool vw_clock_best(const struct vw_clock_filter *f, int64_t *offset_us, int64_t *rtt_us)
{
    int best = -1;
    for (int i = 0; i < f->count; i++)
        if (best < 0 || f->rtt_us[i] < f->rtt_us[best])
            best = i;
    if (best < 0)
        return false;
    *offset_us = f->offset_us[best];
    *rtt_us = f->rtt_us[best];
    return true;
}

bool vw_clock_out_of_step(const struct vw_clock_filter *f, int64_t limit_us)
{
    int64_t off, rtt;
    if (!vw_clock_best(f, &off, &rtt))
        return false;
    int64_t mag = off < 0 ? -off : off;
    return mag - rtt / 2 > limit_us;
}
