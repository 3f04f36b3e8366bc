/* mailbox: hands the newest decoded frame from one decoder thread to the render thread.
 *
 * The decoder replaces the slot with its newest frame (a frame never taken is dropped);
 * the renderer takes what is there when it draws and keeps it for redraws. Neither side
 * ever waits on the other beyond a pointer swap under a mutex. No allocation after
 * create: three AVFrame shells rotate (back = being posted, middle = waiting, front = shown). */
#ifndef VW_MAILBOX_H
#define VW_MAILBOX_H

#include <stdbool.h>
#include <stdint.h>

struct AVFrame;
struct vw_mailbox;

struct vw_mailbox *vw_mailbox_create(void);     /* NULL when out of memory */
void vw_mailbox_destroy(struct vw_mailbox *mb); /* NULL ok; unrefs every frame held */

/* Decoder thread. Moves the references of `frame` into the mailbox (`frame` is left
 * blank, ready for the next avcodec_receive_frame) with `posted_at_us` (vw_now_us at
 * decode) and `due_rt_us`: the realtime moment it is to be shown (0: as soon as taken). A
 * frame posted before and not yet taken is unreferenced and counted as dropped. */
void vw_mailbox_post(struct vw_mailbox *mb, struct AVFrame *frame, int64_t posted_at_us,
                     int64_t due_rt_us);

/* Render thread. When a frame was posted since the last take, it becomes the current frame
 * and is returned with *fresh = true; otherwise the current frame (or NULL before the first
 * post) is returned with *fresh = false. The frame belongs to the mailbox and stays valid
 * until the next take or vw_mailbox_clear, but the caller may move its references out
 * (av_frame_move_ref): takes then return NULL until the next post. *posted_at_us may be
 * NULL. */
struct AVFrame *vw_mailbox_take(struct vw_mailbox *mb, bool *fresh, int64_t *posted_at_us);
/* The same, for a redraw at the realtime moment slot_rt_us: a frame posted with a due moment
 * after it stays waiting (the current one is returned, not fresh). Walls on several machines
 * drawing on one grid of moments so take the same frame in the same redraw. */
struct AVFrame *vw_mailbox_take_due(struct vw_mailbox *mb, bool *fresh, int64_t *posted_at_us,
                                    int64_t slot_rt_us);

/* Render thread: the due moment of a frame waiting (posted, not yet taken), 0 when none
 * waits or it has no due moment. */
int64_t vw_mailbox_waiting_due(struct vw_mailbox *mb);
/* Either thread: frames posted, and frames dropped (replaced before being taken). */
void vw_mailbox_counts(struct vw_mailbox *mb, uint64_t *posted, uint64_t *dropped);

#endif
