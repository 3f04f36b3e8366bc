/* test_clocks: the cluster's clock filter (src/cluster/clocks.h): the fastest round trip's
 * offset wins, old measurements leave the window, and a clock is out of step only beyond the
 * limit plus the measurement's error. */
#include <stdio.h>

#include "check.h"
#include "cluster/clocks.h"

/* A measurement of a clock `offset` ahead of ours, with the request taking `out` and the
 * reply `back` microseconds. */
static void measure(struct vw_clock_filter *f, int64_t now, int64_t offset, int64_t out,
                    int64_t back)
{
    vw_clock_add(f, now, now + out + offset, now + out + back);
}

static void test_empty(void)
{
    struct vw_clock_filter f = {0};
    int64_t off = 1, rtt = 1;
    CHECK(!vw_clock_best(&f, &off, &rtt));
    CHECK(!vw_clock_out_of_step(&f, 5000));
}

static void test_symmetric(void)
{
    struct vw_clock_filter f = {0};
    measure(&f, 1000000, 3000, 400, 400);
    int64_t off, rtt;
    CHECK(vw_clock_best(&f, &off, &rtt));
    CHECK(off == 3000);
    CHECK(rtt == 800);
    CHECK(!vw_clock_out_of_step(&f, 5000));
    measure(&f, 2000000, -9000, 300, 300);
    CHECK(vw_clock_best(&f, &off, &rtt));
    CHECK(off == -9000); /* the faster round trip */
    CHECK(vw_clock_out_of_step(&f, 5000));
}

/* A loaded machine: the reply sat 80 ms in a queue. Alone it looks like a 40 ms offset; the
 * fast round trips before it say the clocks agree, and it is not called out of step. */
static void test_slow_round_trip(void)
{
    struct vw_clock_filter f = {0};
    measure(&f, 1000000, 200, 500, 500);
    measure(&f, 3000000, 200, 500, 80000);
    int64_t off, rtt;
    CHECK(vw_clock_best(&f, &off, &rtt));
    CHECK(off == 200);
    CHECK(rtt == 1000);
    CHECK(!vw_clock_out_of_step(&f, 5000));
    /* Only the slow one: 40 ms off, but within its own error of 40.25 ms: not called out. */
    struct vw_clock_filter g = {0};
    measure(&g, 1000000, 200, 500, 80000);
    CHECK(vw_clock_best(&g, &off, &rtt));
    CHECK_NEAR((double)off, -39550.0, 1.0);
    CHECK(!vw_clock_out_of_step(&g, 5000));
}

/* The window: a fast measurement older than VW_CLOCK_SAMPLES others is forgotten, so a clock
 * that has since drifted is seen. */
static void test_window(void)
{
    struct vw_clock_filter f = {0};
    measure(&f, 0, 0, 100, 100);
    for (int i = 1; i <= VW_CLOCK_SAMPLES; i++)
        measure(&f, i * 2000000, 20000, 1000, 1000);
    int64_t off, rtt;
    CHECK(vw_clock_best(&f, &off, &rtt));
    CHECK(off == 20000);
    CHECK(vw_clock_out_of_step(&f, 5000));
}

static void test_clock_stepped_back(void)
{
    struct vw_clock_filter f = {0};
    vw_clock_add(&f, 5000000, 5000000, 4000000);
    int64_t off, rtt;
    CHECK(!vw_clock_best(&f, &off, &rtt));
}

int main(void)
{
    test_empty();
    test_symmetric();
    test_slow_round_trip();
    test_window();
    test_clock_stepped_back();
    return check_summary("test_clocks");
}
