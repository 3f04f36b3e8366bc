/* test_mailbox: the frame handoff, single-threaded and under a two-thread stress.
 * Sequence numbers travel in frame->pts and in the first byte of the picture. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <libavutil/frame.h>

#include "check.h"
#include "feeds/mailbox.h"

static void fill(AVFrame *f, int64_t seq)
{
    f->format = AV_PIX_FMT_GRAY8;
    f->width = 16;
    f->height = 16;
    if (av_frame_get_buffer(f, 0) < 0)
        abort();
    f->pts = seq;
    f->data[0][0] = (uint8_t)(seq & 0xff);
}

static void test_basic(void)
{
    struct vw_mailbox *mb = vw_mailbox_create();
    CHECK(mb != NULL);
    AVFrame *f = av_frame_alloc();
    bool fresh = true;
    int64_t at = 99;

    CHECK(vw_mailbox_take(mb, &fresh, &at) == NULL);
    CHECK(!fresh);

    fill(f, 1);
    vw_mailbox_post(mb, f, 1000, 0);
    CHECK(f->buf[0] == NULL && f->width == 0); /* left blank */
    fill(f, 2);
    vw_mailbox_post(mb, f, 2000, 0);

    uint64_t posted = 0, dropped = 0;
    vw_mailbox_counts(mb, &posted, &dropped);
    CHECK(posted == 2 && dropped == 1);

    const AVFrame *got = vw_mailbox_take(mb, &fresh, &at);
    CHECK(got && fresh && got->pts == 2 && at == 2000 && got->data[0][0] == 2);
    got = vw_mailbox_take(mb, &fresh, NULL);
    CHECK(got && !fresh && got->pts == 2);

    /* A post after a take does not drop; the shown frame stays valid until the next take. */
    fill(f, 3);
    vw_mailbox_post(mb, f, 3000, 0);
    CHECK(got->pts == 2 && got->data[0][0] == 2);
    vw_mailbox_counts(mb, &posted, &dropped);
    CHECK(posted == 3 && dropped == 1);
    got = vw_mailbox_take(mb, &fresh, &at);
    CHECK(got && fresh && got->pts == 3 && at == 3000);

    /* Destroy with an untaken frame pending: must not leak (ASan). */
    fill(f, 4);
    vw_mailbox_post(mb, f, 4000, 0);
    vw_mailbox_destroy(mb);
    vw_mailbox_destroy(NULL);
    av_frame_free(&f);
}

/* The renderer may move the taken frame out (a texture keeping the decoder's buffers): the
 * buffers live on with it, later takes give NULL until the next post, and the mailbox
 * neither frees nor reuses what was moved. */
static void test_move_out(void)
{
    struct vw_mailbox *mb = vw_mailbox_create();
    AVFrame *f = av_frame_alloc(), *kept = av_frame_alloc();
    bool fresh = false;
    int64_t at = 0;

    fill(f, 7);
    vw_mailbox_post(mb, f, 7000, 0);
    AVFrame *got = vw_mailbox_take(mb, &fresh, &at);
    CHECK(got && fresh && got->pts == 7);
    av_frame_move_ref(kept, got);
    CHECK(vw_mailbox_take(mb, &fresh, &at) == NULL && !fresh && at == 0);

    /* the next post swaps the blank frame back to the decoder; ours stays intact */
    fill(f, 8);
    vw_mailbox_post(mb, f, 8000, 0);
    fill(f, 9);
    vw_mailbox_post(mb, f, 9000, 0); /* replaces 8, and unreferences it */
    CHECK(kept->pts == 7 && kept->data[0][0] == 7 && kept->buf[0] != NULL);
    got = vw_mailbox_take(mb, &fresh, &at);
    CHECK(got && fresh && got->pts == 9 && at == 9000);
    got = vw_mailbox_take(mb, &fresh, NULL);
    CHECK(got && !fresh && got->pts == 9); /* not moved: still there */

    vw_mailbox_destroy(mb);
    CHECK(kept->data[0][0] == 7); /* outlives the mailbox (ASan: no use after free) */
    av_frame_free(&kept);
    av_frame_free(&f);
}

#define STRESS_N 200000

struct stress {
    struct vw_mailbox *mb;
    atomic_llong last_posted; /* sequence number of the last post that returned */
    atomic_bool done;
};

static void *producer(void *arg)
{
    struct stress *st = arg;
    AVFrame *f = av_frame_alloc();
    for (int64_t seq = 1; seq <= STRESS_N; seq++) {
        fill(f, seq);
        vw_mailbox_post(st->mb, f, seq, 0);
        atomic_store(&st->last_posted, seq);
    }
    av_frame_free(&f);
    atomic_store(&st->done, true);
    return NULL;
}

static void test_stress(void)
{
    struct stress st = {.mb = vw_mailbox_create()};
    atomic_init(&st.last_posted, 0);
    atomic_init(&st.done, false);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, producer, &st) == 0);

    int64_t last = 0;
    uint64_t taken = 0, takes = 0;
    bool backwards = false, stale = false, corrupt = false;
    for (;;) {
        bool done = atomic_load(&st.done);
        int64_t before = atomic_load(&st.last_posted);
        bool fresh;
        int64_t at;
        const AVFrame *got = vw_mailbox_take(st.mb, &fresh, &at);
        takes++;
        if (got) {
            if (fresh) {
                taken++;
                if (got->pts <= last)
                    backwards = true;
            } else if (got->pts != last) {
                backwards = true;
            }
            if (got->pts < before) /* a post that had returned before this take was missed */
                stale = true;
            if (got->data[0][0] != (uint8_t)(got->pts & 0xff) || at != got->pts)
                corrupt = true;
            last = got->pts;
        } else if (before > 0) {
            stale = true;
        }
        if (done) /* this take began after the last post: it saw the final frame */
            break;
    }
    pthread_join(t, NULL);

    uint64_t posted = 0, dropped = 0;
    vw_mailbox_counts(st.mb, &posted, &dropped);
    CHECK(!backwards);
    CHECK(!stale);
    CHECK(!corrupt);
    CHECK(last == STRESS_N);
    CHECK(posted == STRESS_N);
    CHECK(posted == taken + dropped);
    printf("test_mailbox: stress: %llu posted, %llu taken, %llu dropped, %llu takes\n",
           (unsigned long long)posted, (unsigned long long)taken, (unsigned long long)dropped,
           (unsigned long long)takes);
    vw_mailbox_destroy(st.mb);
}

/* A frame posted with a due moment waits for a redraw at or after that moment (a tile that
 * spans cluster nodes: every node takes it in the same redraw). */
static void test_due(void)
{
    struct vw_mailbox *mb = vw_mailbox_create();
    AVFrame *f = av_frame_alloc();
    bool fresh = true;
    fill(f, 1);
    vw_mailbox_post(mb, f, 1000, 0);
    CHECK(vw_mailbox_take_due(mb, &fresh, NULL, 5000) != NULL && fresh); /* no due: taken */
    fill(f, 2);
    vw_mailbox_post(mb, f, 2000, 6000);
    const AVFrame *got = vw_mailbox_take_due(mb, &fresh, NULL, 5999);
    CHECK(got && !fresh && got->pts == 1); /* not yet: the current one stays */
    got = vw_mailbox_take_due(mb, &fresh, NULL, 6000);
    CHECK(got && fresh && got->pts == 2);
    fill(f, 3);
    vw_mailbox_post(mb, f, 3000, 9000);
    got = vw_mailbox_take(mb, &fresh, NULL); /* no slot given: any frame */
    CHECK(got && fresh && got->pts == 3);
    av_frame_free(&f);
    vw_mailbox_destroy(mb);
}

int main(void)
{
    test_basic();
    test_due();
    test_move_out();
    test_stress();
    return check_summary("test_mailbox");
}
