/* mailbox: three AVFrame shells rotate between the decoder and the renderer.
 *
 *   back   - decoder only: blank between posts; a post moves the new frame into it,
 *            swaps it with `middle` under the lock, then unrefs what it got back
 *            (a dropped frame, or the frame the renderer no longer shows).
 *   middle - shared, protected by lock: the newest frame, or an old one when !has_new.
 *   front  - renderer only: the frame last returned by take (blank once the renderer
 *            moved it out).
 *
 * The lock is held only for pointer swaps and counters; unreferencing (which may free
 * buffers) happens outside it, on the decoder thread. */
#include "feeds/mailbox.h"

#include <pthread.h>
#include <stdlib.h>

#include <libavutil/frame.h>

struct slot {
    AVFrame *frame;
    int64_t posted_at_us;
    int64_t due_rt_us; /* 0: none */
};

struct vw_mailbox {
    pthread_mutex_t lock;
    struct slot slots[3];
    struct slot *back;   /* decoder thread only */
    struct slot *middle; /* protected by lock */
    struct slot *front;  /* render thread only */
    bool has_new;        /* protected by lock: middle holds a frame not yet taken */
    bool front_valid;    /* render thread only: front holds a frame */
    uint64_t posted;     /* protected by lock */
    uint64_t dropped;    /* protected by lock */
};

struct vw_mailbox *vw_mailbox_create(void)
{
    struct vw_mailbox *mb = calloc(1, sizeof *mb);
    if (!mb)
        return NULL;
    for (int i = 0; i < 3; i++) {
        mb->slots[i].frame = av_frame_alloc();
        if (!mb->slots[i].frame)
            goto fail;
    }
    if (pthread_mutex_init(&mb->lock, NULL) != 0)
        goto fail;
    mb->back = &mb->slots[0];
    mb->middle = &mb->slots[1];
    mb->front = &mb->slots[2];
    return mb;

fail:
    for (int i = 0; i < 3; i++)
        av_frame_free(&mb->slots[i].frame);
    free(mb);
    return NULL;
}

void vw_mailbox_destroy(struct vw_mailbox *mb)
{
    if (!mb)
        return;
    for (int i = 0; i < 3; i++)
        av_frame_free(&mb->slots[i].frame);
    pthread_mutex_destroy(&mb->lock);
    free(mb);
}

void vw_mailbox_post(struct vw_mailbox *mb, struct AVFrame *frame, int64_t posted_at_us,
                     int64_t due_rt_us)
{
    struct slot *mine = mb->back;
    av_frame_move_ref(mine->frame, frame);
    mine->posted_at_us = posted_at_us;
    mine->due_rt_us = due_rt_us;

    pthread_mutex_lock(&mb->lock);
    bool displaced_new = mb->has_new;
    mb->back = mb->middle;
    mb->middle = mine;
    mb->has_new = true;
    mb->posted++;
    if (displaced_new)
        mb->dropped++;
    pthread_mutex_unlock(&mb->lock);

    /* Either a frame nobody took, or the one the renderer replaced at its last take:
     * nobody else refers to it now. */
    av_frame_unref(mb->back->frame);
}

struct AVFrame *vw_mailbox_take(struct vw_mailbox *mb, bool *fresh, int64_t *posted_at_us)
{
    return vw_mailbox_take_due(mb, fresh, posted_at_us, 0);
}

struct AVFrame *vw_mailbox_take_due(struct vw_mailbox *mb, bool *fresh, int64_t *posted_at_us,
                                    int64_t slot_rt_us)
{
    bool got = false;
    pthread_mutex_lock(&mb->lock);
    if (mb->has_new && !(slot_rt_us > 0 && mb->middle->due_rt_us > slot_rt_us)) {
        struct slot *t = mb->front;
        mb->front = mb->middle;
        mb->middle = t;
        mb->has_new = false;
        got = true;
    }
    pthread_mutex_unlock(&mb->lock);

    if (got)
        mb->front_valid = true;
    if (fresh)
        *fresh = got;
    /* a frame moved out by the caller is blank: format -1 */
    if (!mb->front_valid || mb->front->frame->format < 0) {
        if (posted_at_us)
            *posted_at_us = 0;
        return NULL;
    }
    if (posted_at_us)
        *posted_at_us = mb->front->posted_at_us;
    return mb->front->frame;
}

int64_t vw_mailbox_waiting_due(struct vw_mailbox *mb)
{
    pthread_mutex_lock(&mb->lock);
    int64_t due = mb->has_new ? mb->middle->due_rt_us : 0;
    pthread_mutex_unlock(&mb->lock);
    return due;
}

void vw_mailbox_counts(struct vw_mailbox *mb, uint64_t *posted, uint64_t *dropped)
{
    pthread_mutex_lock(&mb->lock);
    if (posted)
        *posted = mb->posted;
    if (dropped)
        *dropped = mb->dropped;
    pthread_mutex_unlock(&mb->lock);
}
