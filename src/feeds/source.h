/* source: one camera feed. Its own thread demuxes and decodes with FFmpeg and posts the
 * newest frame to a mailbox; it never calls the renderer.
 *
 * State machine (run by the source's thread):
 *   connecting → live → stalled (no new decoded frame for stall_timeout, even with the
 *   socket open) → reconnecting in the background (exponential backoff 0.5 s doubling to a
 *   30 s cap, reset only once a connection has stayed live for 10 s, so a stream that gives
 *   a frame or two per connection and fails backs off instead of flapping) → live.  A source
 *   that never came up, or that failed every attempt so far, is offline.  The error text
 *   says what happened in an operator's words: nothing arrived, the server sends too slowly,
 *   the stream is not video, the server ended it.  Every blocking FFmpeg call has a deadline
 * (interrupt callback + socket timeouts), so destroy never hangs on a dead camera.
 * Make-before-break: during a reconnect the last good frame stays the current frame; the
 * new stream replaces it only once its first frame is decoded. */
#ifndef VW_SOURCE_H
#define VW_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "model/config.h"

struct AVFrame;
struct vw_source;

enum vw_source_state {
    VW_SOURCE_IDLE,       /* created, thread not yet trying */
    VW_SOURCE_CONNECTING, /* opening (first time or reconnecting) */
    VW_SOURCE_LIVE,       /* frames arriving */
    VW_SOURCE_STALLED,    /* open, but no new frame for stall_timeout */
    VW_SOURCE_OFFLINE,    /* could not open / lost, waiting for the next attempt */
};

/* "idle", "connecting", "live", "stalled", "offline" */
const char *vw_source_state_name(enum vw_source_state st);

/* What a decoder leaves out to keep up (overload), least first. */
enum vw_source_shed {
    VW_SHED_NONE,      /* every frame, in full */
    VW_SHED_NONREF,    /* non-reference frames and the deblocking filter skipped */
    VW_SHED_KEYFRAMES, /* keyframes only: catching up with the stream */
};

/* "none", "nonref", "keyframes" */
const char *vw_source_shed_name(enum vw_source_shed shed);

struct vw_source_stats {
    enum vw_source_state state;
    int width, height; /* of the decoded stream, 0 before the first frame */
    double fps;        /* measured decode rate over the last ~2 s */
    uint64_t frames_decoded;
    uint64_t frames_late;      /* decoded over 250 ms behind the stream's clock (files: the
                                  pacing clock): the decoder is not keeping up */
    uint64_t frames_shown;     /* frames the renderer took (vw_source_frame with fresh) */
    int64_t last_frame_age_ms; /* since the newest decoded frame; -1 when none yet */
    int reconnects;            /* successful or attempted reconnects after the first open */
    int64_t backoff_ms;        /* wait before the next attempt while not live (0.5 s .. 30 s),
                                  0 while live */
    uint64_t catchups;         /* times the decoder fell over SHED_LATE behind its stream and
                                  skipped to the next keyframe to catch up */
    enum vw_source_shed shed;  /* what the decoder skips now */
    bool substream;            /* decoding the substream URL now */
    bool hw;                   /* decoding in hardware now */
    bool sync;                 /* a capture time (the sender's wallclock from RTCP sender
                                  reports) came with a frame: frames can be shown by it */
    char error[256];           /* last error text, "" when none */
};

/* Called by a source's thread after it posted a frame or changed state; must be cheap and
 * thread-safe (e.g. write to an eventfd). May be NULL. */
typedef void (*vw_source_wakeup_fn)(void *ud);

/* Copies what it needs of `cfg` and starts the source's thread, on the substream URL first
 * when `substream` (and cfg has one). Main thread only. Returns NULL only when out of memory
 * or a thread can't start. */
struct vw_source *vw_source_create(const struct vw_source_cfg *cfg, bool substream,
                                   vw_source_wakeup_fn wakeup, void *ud);
/* Stops and joins the thread (bounded by the FFmpeg deadlines), frees everything. NULL ok. */
void vw_source_destroy(struct vw_source *s);

/* Render thread. The newest frame (see vw_mailbox_take): *fresh tells whether it was not
 * returned before. NULL before the first frame. Valid until the next call or destroy; the
 * caller may move it out (vw_texture_upload_take). decoded_at_us may be NULL. slot_rt_us:
 * the realtime moment the redraw shows (a held frame due later waits; 0: any frame). */
struct AVFrame *vw_source_frame(struct vw_source *s, bool *fresh, int64_t *decoded_at_us,
                                int64_t slot_rt_us);
/* Whether the source plays a file (paced by its timestamps), not a network stream. */
bool vw_source_is_file(const struct vw_source *s);
/* Render thread: a held frame waits for a later redraw (its due moment), or 0. */
int64_t vw_source_waiting_due(struct vw_source *s);

/* Any thread. */
void vw_source_get_stats(struct vw_source *s, struct vw_source_stats *out);

/* Main thread: asks for the substream (true) or main stream (false). Ignored without a
 * substream URL. The switch is make-before-break. */
void vw_source_prefer_substream(struct vw_source *s, bool substream);

/* Main thread: let the decoder skip non-reference frames and deblocking (small tiles under
 * load): at least VW_SHED_NONREF while set. The decoder also sheds on its own, see source.c. */
void vw_source_set_skip_nonref(struct vw_source *s, bool skip);

/* Main thread: from now on the decoding thread runs below the render loop (nice 19), for good
 * (an unprivileged thread cannot raise its priority again). The wall asks it of every decoder
 * while it is overloaded. */
void vw_source_yield(struct vw_source *s);
/* Main thread: hold each frame that has a capture time (sync) until capture time +
 * `playout_ms` by the realtime clock before posting it, so walls on several machines show it
 * together (a tile spanning cluster nodes); never longer than playout_ms. 0: post frames as
 * soon as they are decoded (the default). */
void vw_source_set_playout(struct vw_source *s, int playout_ms);
/* Files with a playout: the realtime moment (µs since the epoch) that every node showing the
 * file counts its time from, so that they show the same frame together (the showing scene's
 * start, from the shared state); frames are then paced by it, and carry epoch + media time
 * as their capture time. 0: paced from when the file opened, as alone. */
void vw_source_set_epoch(struct vw_source *s, int64_t epoch_us);

/* Main thread: drops the connection now and connects again at once (an operator's
 * "reconnect" button), the backoff back at 0.5 s; counts in reconnects. Make-before-break:
 * the last frame stays the current one until the new stream's first frame. A file that
 * ended (no loop) plays again. Returns at once; the source's thread does the work. */
void vw_source_reconnect(struct vw_source *s);

#endif
