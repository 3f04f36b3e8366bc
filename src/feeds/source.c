/* source: one camera feed on its own thread (see source.h for the state machine).
 *
 * The thread owns everything FFmpeg: the demuxer, the decoder, one packet and two frames
 * allocated once. It never waits on the renderer: each decoded frame is posted to the
 * mailbox, where the newest wins. Every blocking FFmpeg call runs under a deadline checked
 * by the interrupt callback (open: OPEN_TIMEOUT_US; read: stall_timeout since the last
 * decoded frame), which also sees the stop flag, so destroy returns promptly whatever the
 * camera does. Waits between attempts sleep on a condition variable that stop signals.
 *
 * Reconnect attempts do not go back to "connecting" (that is the first attempt only): a
 * dead camera stays "offline" or "stalled" instead of flapping every backoff period.
 *
 * Overload. Once the wall is overloaded it asks every decoder to yield (vw_source_yield): the
 * decoding thread drops below the render loop (DECODER_NICE), so that on a small box with a
 * hundred decoders the wall keeps drawing and answering and the decoders take what CPU is
 * left. It is one way: an unprivileged thread cannot raise its priority again; decoders
 * started later begin at the usual priority, so a wall that keeps up is never slowed (a
 * reconnect or a first picture on a busy machine is as quick as ever). A decoder that then stays
 * over SHED_LATE_US behind its stream's clock skips to the next keyframe (VW_SHED_KEYFRAMES)
 * instead of falling further behind, and once caught up keeps skipping non-reference frames and
 * deblocking (VW_SHED_NONREF) for SHED_HOLD_US; so does one whose frames the renderer mostly
 * replaces unseen (it decodes for nobody). Frame rate is what gives, not latency. */
#define _GNU_SOURCE /* pthread_timedjoin_np */
#include "feeds/source.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/cpu.h>
#include <libavutil/hwcontext.h>
#include <libavutil/pixdesc.h>

#include "base/log.h"
#include "feeds/mailbox.h"
#include "base/timeutil.h"

#define OPEN_TIMEOUT_US 5000000 /* avformat_open_input, avformat_find_stream_info */
#define CLOSE_TIMEOUT_US 500000 /* avformat_close_input (an RTSP TEARDOWN) */
#define BACKOFF_MIN_US 500000
#define BACKOFF_MAX_US 30000000
#define BACKOFF_RESET_US 10000000 /* live this long before a failure resets the backoff */
#define SLOW_BYTES_PER_S 32768    /* under this, a stream that gives no picture "trickles" */
#define FPS_WINDOW_US 2000000
#define PLAYOUT_EARLY_US 4000 /* a held frame is posted this long before its moment */
#define DESTROY_WAIT_MS 50    /* then a thread stuck in a call without deadline goes to a reaper */
#define FPS_RING 256
#define MAX_CODEC_THREADS 2  /* the wall machines have two cores and many sources */
#define PACE_JUMP_US 2000000 /* a pts step beyond this (or backwards) resyncs the clock */
#define PACE_LATE_US 500000  /* this far behind the clock: resync instead of bursting */
#define LATE_US 250000       /* a frame decoded this late counts in frames_late */
/* Decoder threads' nice value (the render loop's is 0). At 10 a runnable decoder weighs
 * about a tenth of the render thread in the kernel's fair scheduler, so a hundred of them
 * still leave it a fair part of a core; the codec's own threads inherit it. */
#ifndef DECODER_NICE /* -DDECODER_NICE=0 builds the wall without it, to measure it */
#define DECODER_NICE 19
#endif
/* A decoder that stays over SHED_LATE_US behind its stream for SHED_GRACE_US skips to the
 * next keyframe. The grace lets a burst after a network hiccup drain by itself: a decoder
 * that keeps up decodes it faster than real time. */
#define SHED_LATE_US 200000
#define SHED_GRACE_US 500000
#define SHED_HOLD_US 10000000 /* then skips non-reference frames this long after */
#define SHED_UNSEEN 0.6       /* over this share of a second's frames replaced unseen */

struct vw_source {
    /* Set by create, read-only afterwards. */
    char *id, *url, *substream, *transport;
    bool loop;
    double stall_timeout;
    enum vw_hwaccel hwaccel;
    vw_source_wakeup_fn wakeup;
    void *ud;
    struct vw_mailbox *mb;
    pthread_t thread;

    /* Requests from the main thread, polled by the source thread. */
    atomic_bool stop, want_sub, skip_nonref, reconnect, yield;
    atomic_int playout_ms; /* vw_source_set_playout */
    atomic_llong epoch_us; /* vw_source_set_epoch */
    /* Source thread and its interrupt callback. */
    atomic_llong deadline_us; /* 0: none */
    atomic_bool timed_out;    /* the callback interrupted a call for its deadline */
    atomic_llong polls;       /* calls of the callback: FFmpeg's sockets call it per read */

    pthread_mutex_t lock;
    pthread_cond_t cond; /* signalled with lock held when stop or reconnect is set */
    /* Protected by lock. st.fps and st.last_frame_age_ms are computed when read. */
    struct vw_source_stats st;
    int64_t last_frame_us;
    int64_t fps_ring[FPS_RING];
    int fps_next, fps_count;
};

/* One open input: demuxer and decoder. Source thread only. */
struct conn {
    AVFormatContext *fmt;
    AVIOContext *pb; /* ours (network protocols but RTSP), to count what the server sent */
    AVCodecContext *dec;
    int vidx;
    AVRational tb;
    int64_t frame_dur_us;
    enum AVPixelFormat hw_fmt; /* AV_PIX_FMT_NONE when decoding in software */
    const char *id;            /* the source's, for get_hw_format's message */
    atomic_bool hw_refused;    /* get_hw_format fell back to software (logged once) */
    bool sub;                  /* opened the substream URL */
    enum vw_source_shed shed;  /* what the decoder is set to skip */
    int64_t late_since_us;     /* frames have come over SHED_LATE_US behind since; 0: on time */
    bool catching_up;          /* fell behind: keyframes only */
    int64_t catchup_from_us;   /* how far behind it was when it began to catch up */
    int64_t shed_until_us;     /* skip non-reference frames until then */
    /* The renderer's side: mailbox counts at the start of the current second. */
    int64_t unseen_since_us;
    uint64_t posted_at_start, dropped_at_start;
    bool got_frame;
    int64_t first_frame_us;
    /* Since the last decoded frame (or the open): bytes read and decoder errors, to say why
     * no picture came. */
    int64_t bytes_at_progress;
    int decode_errors;
    char decode_error[96];
    /* Lateness of a live stream: how far the wall clock ran ahead of the stream's own clock
     * since its first frame, beyond the least such lag seen (network jitter excluded). */
    bool clock_started;
    int64_t clock_base_us, clock_base_pts_us, min_lag_us;
};

/* Why a connection ended. */
enum end { END_STOP, END_SWITCH, END_REOPEN, END_EOF, END_LOST, END_RECONNECT };

/* What the source thread keeps across connections. */
struct worker {
    struct vw_source *s;
    AVPacket *pkt;
    AVFrame *frame, *sw;
    bool is_file;
    AVBufferRef *hwdev;
    enum AVHWDeviceType hwtype;
    bool hw_given_up; /* no device: decode in software from now on */
    bool hw_codec_logged;
    bool yielded; /* runs at DECODER_NICE */
    /* File pacing: a frame with pts P is due at base_us + (P - base_pts_us). */
    bool pace_started;
    int64_t base_us, base_pts_us, last_pts_us, last_due_us;
    /* ...or, with a shared epoch (vw_source_set_epoch), at epoch + media + playout, media
     * being the file's time since the epoch, continuous over loops. */
    bool media_started;
    const struct conn *media_conn; /* the connection the media time counts from */
    int64_t epoch_used, media_us, media_offset_us, media_base_pts_us;
};

static const char *const state_names[] = {"idle", "connecting", "live", "stalled", "offline"};
static const char *const shed_names[] = {"none", "nonref", "keyframes"};

/* Decoder threads running now: with more of them than cores, each decodes on one thread. */
static atomic_int decoders_running;

const char *vw_source_state_name(enum vw_source_state st)
{
    if ((unsigned)st < sizeof state_names / sizeof state_names[0])
        return state_names[st];
    return "?";
}

const char *vw_source_shed_name(enum vw_source_shed shed)
{
    if ((unsigned)shed < sizeof shed_names / sizeof shed_names[0])
        return shed_names[shed];
    return "?";
}

static void wake(struct vw_source *s)
{
    pthread_mutex_lock(&s->lock);
    vw_source_wakeup_fn fn = s->wakeup;
    void *ud = s->ud;
    pthread_mutex_unlock(&s->lock);
    if (fn)
        fn(ud);
}

/* Sets the state and (unless live) the error text; logs a change of state once. */
static void set_state(struct vw_source *s, enum vw_source_state st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_state(struct vw_source *s, enum vw_source_state st, const char *fmt, ...)
{
    char why[sizeof s->st.error] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_lock(&s->lock);
    enum vw_source_state old = s->st.state;
    bool changed = old != st || strcmp(s->st.error, why) != 0;
    s->st.state = st;
    if (st == VW_SOURCE_LIVE)
        s->st.backoff_ms = 0;
    memcpy(s->st.error, why, sizeof why);
    pthread_mutex_unlock(&s->lock);

    if (old != st)
        vw_info("source '%s': %s → %s%s%s%s", s->id, vw_source_state_name(old),
                vw_source_state_name(st), why[0] ? " (" : "", why, why[0] ? ")" : "");
    else if (changed && why[0])
        vw_debug("source '%s': %s (%s)", s->id, vw_source_state_name(st), why);
    if (changed)
        wake(s);
}

static enum vw_source_state get_state(struct vw_source *s)
{
    pthread_mutex_lock(&s->lock);
    enum vw_source_state st = s->st.state;
    pthread_mutex_unlock(&s->lock);
    return st;
}

/* Sleeps until `until_us` (vw_now_us clock), stop or a reconnect request; false when
 * stopped. */
static bool sleep_until(struct vw_source *s, int64_t until_us)
{
    struct timespec ts = {.tv_sec = until_us / 1000000, .tv_nsec = (until_us % 1000000) * 1000};
    pthread_mutex_lock(&s->lock);
    while (!atomic_load(&s->stop) && !atomic_load(&s->reconnect) && vw_now_us() < until_us)
        if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&s->lock);
    return !atomic_load(&s->stop);
}

static int interrupt_cb(void *opaque)
{
    struct vw_source *s = opaque;
    atomic_fetch_add_explicit(&s->polls, 1, memory_order_relaxed);
    if (atomic_load_explicit(&s->stop, memory_order_relaxed) ||
        atomic_load_explicit(&s->reconnect, memory_order_relaxed))
        return 1;
    int64_t dl = atomic_load_explicit(&s->deadline_us, memory_order_relaxed);
    if (dl && vw_now_us() > dl) {
        atomic_store_explicit(&s->timed_out, true, memory_order_relaxed);
        return 1;
    }
    return 0;
}

static void arm(struct vw_source *s, int64_t deadline_us)
{
    atomic_store_explicit(&s->timed_out, false, memory_order_relaxed);
    atomic_store_explicit(&s->deadline_us, deadline_us, memory_order_relaxed);
}

/* FFmpeg's own message for the last error on a source thread: av_strerror alone turns a
 * failed DNS lookup or a file with no index into "Input/output error" or "Invalid data".
 * The callback keeps FFmpeg's usual printing (av_log_default_callback). */
static _Thread_local struct {
    bool on;        /* a source thread */
    char part[256]; /* the line being assembled */
    char last[256]; /* the last complete error line, "" when none */
} avlog;

static void avlog_callback(void *avcl, int level, const char *fmt, va_list vl)
{
    if (avlog.on && level <= AV_LOG_ERROR) {
        va_list cp;
        va_copy(cp, vl);
        size_t len = strlen(avlog.part);
        vsnprintf(avlog.part + len, sizeof avlog.part - len, fmt, cp);
        va_end(cp);
        len = strlen(avlog.part);
        if (len && avlog.part[len - 1] == '\n') {
            avlog.part[len - 1] = '\0';
            memcpy(avlog.last, avlog.part, sizeof avlog.last);
            avlog.part[0] = '\0';
        }
    }
    av_log_default_callback(avcl, level, fmt, vl);
}

static const char *averr(int err, char *buf, size_t n)
{
    if (av_strerror(err, buf, n) < 0)
        snprintf(buf, n, "error %d", err);
    return buf;
}

/* A URL with a scheme other than file: is a live network feed; the rest are files. */
static bool is_network(const char *url)
{
    const char *sep = strstr(url, "://");
    if (!sep || sep == url)
        return false;
    for (const char *p = url; p < sep; p++)
        if (!(isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.'))
            return false;
    return !(sep - url == 4 && av_strncasecmp(url, "file", 4) == 0);
}

static bool is_rtsp(const char *url)
{
    return av_strncasecmp(url, "rtsp", 4) == 0 && strstr(url, "://") == url + 4 + (url[4] == 's');
}

static enum AVPixelFormat get_hw_format(AVCodecContext *dec, const enum AVPixelFormat *fmts)
{
    struct conn *c = dec->opaque;
    for (const enum AVPixelFormat *p = fmts; *p != AV_PIX_FMT_NONE; p++)
        if (*p == c->hw_fmt)
            return *p;
    /* Not offered, or offered and refused (FFmpeg asks again without it): NVDEC, for one,
     * takes no HEVC smaller than 144x144. */
    if (!atomic_exchange(&c->hw_refused, true))
        vw_info("source '%s': the hardware decoder cannot take this stream (%s %dx%d, %s), "
                "decoding in software",
                c->id, avcodec_get_name(dec->codec_id), dec->coded_width, dec->coded_height,
                av_get_pix_fmt_name(dec->sw_pix_fmt));
    for (const enum AVPixelFormat *p = fmts; *p != AV_PIX_FMT_NONE; p++) {
        const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(*p);
        if (d && !(d->flags & AV_PIX_FMT_FLAG_HWACCEL))
            return *p;
    }
    return AV_PIX_FMT_NONE;
}

/* Creates the hardware device once per thread; logs the fallback once. */
static void setup_hw(struct worker *w, struct conn *c, const AVCodec *codec)
{
    struct vw_source *s = w->s;
    if (s->hwaccel == VW_HWACCEL_NONE || w->hw_given_up)
        return;
    if (!w->hwdev) {
        enum AVHWDeviceType types[2];
        int ntypes = 0;
        if (s->hwaccel == VW_HWACCEL_AUTO || s->hwaccel == VW_HWACCEL_VAAPI)
            types[ntypes++] = AV_HWDEVICE_TYPE_VAAPI;
        if (s->hwaccel == VW_HWACCEL_AUTO || s->hwaccel == VW_HWACCEL_CUDA)
            types[ntypes++] = AV_HWDEVICE_TYPE_CUDA;
        char reasons[256] = "";
        for (int i = 0; i < ntypes && !w->hwdev; i++) {
            int ret = av_hwdevice_ctx_create(&w->hwdev, types[i], NULL, NULL, 0);
            if (ret >= 0) {
                w->hwtype = types[i];
                break;
            }
            char e[128];
            size_t len = strlen(reasons);
            snprintf(reasons + len, sizeof reasons - len, "%s%s: %s", len ? "; " : "",
                     av_hwdevice_get_type_name(types[i]), averr(ret, e, sizeof e));
        }
        if (!w->hwdev) {
            w->hw_given_up = true;
            vw_warn("source '%s': hardware decoding unavailable (%s), decoding in software", s->id,
                    reasons);
            return;
        }
    }
    for (int i = 0;; i++) {
        const AVCodecHWConfig *hc = avcodec_get_hw_config(codec, i);
        if (!hc)
            break;
        if ((hc->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) &&
            hc->device_type == w->hwtype) {
            c->hw_fmt = hc->pix_fmt;
            break;
        }
    }
    if (c->hw_fmt == AV_PIX_FMT_NONE) {
        if (!w->hw_codec_logged)
            vw_warn("source '%s': hardware decoding unavailable (%s: no hardware decoder for %s), "
                    "decoding in software",
                    s->id, av_hwdevice_get_type_name(w->hwtype), codec->name);
        w->hw_codec_logged = true;
        return;
    }
    c->dec->hw_device_ctx = av_buffer_ref(w->hwdev);
    if (!c->dec->hw_device_ctx) {
        c->hw_fmt = AV_PIX_FMT_NONE;
        return;
    }
    c->id = s->id;
    c->dec->opaque = c;
    c->dec->get_format = get_hw_format;
}

static void close_conn(struct vw_source *s, struct conn *c)
{
    avcodec_free_context(&c->dec);
    arm(s, vw_now_us() + CLOSE_TIMEOUT_US);
    if (c->fmt)
        avformat_close_input(&c->fmt); /* leaves c->pb (custom I/O) open */
    if (c->pb)
        avio_closep(&c->pb);
    arm(s, 0);
}

/* Bytes the server sent on this connection; -1 when unknown (RTSP: FFmpeg's own sockets). */
static int64_t bytes_read(const struct conn *c)
{
    return c->pb ? c->pb->bytes_read : -1;
}

/* Why a network stream gave no picture within `secs`, from what it sent meanwhile: nothing,
 * a trickle, or plenty that is not video. "" when nothing useful can be said. */
static void describe_silence(const struct conn *c, int64_t bytes, double secs, char *out, size_t n)
{
    out[0] = '\0';
    if (c->decode_errors > 0) {
        snprintf(out, n, "the stream sends data that is not video (%d decoder errors, last: %.60s)",
                 c->decode_errors, c->decode_error);
    } else if (bytes == 0) {
        snprintf(out, n, "the server sent nothing");
    } else if (bytes > 0 && bytes < (int64_t)(SLOW_BYTES_PER_S * secs)) {
        snprintf(out, n, "the server sends too slowly (%lld bytes in %.1f s)", (long long)bytes,
                 secs);
    } else if (bytes > 0) {
        snprintf(out, n, "the stream sends data that is not video (%lld KiB in %.1f s)",
                 (long long)(bytes / 1024), secs);
    }
}

/* The open or stream-info deadline passed: what the server did meanwhile. */
static void open_timeout_error(const struct conn *c, const char *what, char *err, size_t errsz)
{
    char why[160];
    describe_silence(c, bytes_read(c), OPEN_TIMEOUT_US / 1e6, why, sizeof why);
    if (why[0])
        snprintf(err, errsz, "%s: %s", what, why);
    else
        snprintf(err, errsz, "%s: no answer within %d s", what, OPEN_TIMEOUT_US / 1000000);
}

/* Opens `url` with a decoder for its best video stream. On failure fills `err` and
 * returns false with nothing left open. */
static bool open_conn(struct worker *w, struct conn *c, const char *url, char *err, size_t errsz)
{
    struct vw_source *s = w->s;
    char e[128];
    AVDictionary *opts = NULL;
    int ret;

    c->fmt = avformat_alloc_context();
    if (!c->fmt) {
        snprintf(err, errsz, "out of memory");
        return false;
    }
    c->fmt->interrupt_callback = (AVIOInterruptCB){interrupt_cb, s};
    if (!w->is_file) {
        /* The socket timeout only backs up the interrupt callback's deadlines (open, then
         * stall_timeout per read): longer than both, so those fire first and say why. */
        char us[32];
        double sock_s =
            s->stall_timeout > OPEN_TIMEOUT_US / 1e6 ? s->stall_timeout : OPEN_TIMEOUT_US / 1e6;
        snprintf(us, sizeof us, "%lld", (long long)((sock_s + 1) * 1e6));
        av_dict_set(&opts, "fflags", "nobuffer", 0);
        av_dict_set(&opts, "probesize", "500000", 0);
        av_dict_set(&opts, "analyzeduration", "1000000", 0);
        if (is_rtsp(url)) {
            av_dict_set(&opts, "rtsp_transport", s->transport ? s->transport : "tcp", 0);
            av_dict_set(&opts, "timeout", us, 0);
        } else if (avio_find_protocol_name(url)) {
            /* Our own I/O context, so that what the server sent can be counted (and told:
             * nothing, a trickle, or plenty that is not video). */
            AVDictionary *popts = NULL;
            av_dict_set(&popts, "rw_timeout", us, 0);
            avlog.last[0] = avlog.part[0] = '\0';
            arm(s, vw_now_us() + OPEN_TIMEOUT_US);
            ret = avio_open2(&c->pb, url, AVIO_FLAG_READ, &c->fmt->interrupt_callback, &popts);
            av_dict_free(&popts);
            if (ret < 0) {
                if (atomic_load(&s->timed_out))
                    snprintf(err, errsz, "cannot open: no answer within %d s",
                             OPEN_TIMEOUT_US / 1000000);
                else if (avlog.last[0] && !strstr(avlog.last, averr(ret, e, sizeof e)))
                    snprintf(err, errsz, "cannot open: %.100s (%.120s)", e, avlog.last);
                else
                    snprintf(err, errsz, "cannot open: %s", averr(ret, e, sizeof e));
                av_dict_free(&opts);
                goto fail;
            }
            c->fmt->pb = c->pb;
        } else {
            av_dict_set(&opts, "rw_timeout", us, 0);
        }
    }
    avlog.last[0] = avlog.part[0] = '\0';
    arm(s, vw_now_us() + OPEN_TIMEOUT_US);
    long long polls0 = atomic_load(&s->polls);
    ret = avformat_open_input(&c->fmt, url, NULL, &opts); /* frees fmt on failure */
    av_dict_free(&opts);
    if (ret < 0) {
        /* RTSP reads through FFmpeg's own socket, whose bytes cannot be counted; but it
         * calls the interrupt callback about ten times a second while it waits and once or
         * twice per read: a few calls a second is silence, thousands a flood. */
        long long rate = (atomic_load(&s->polls) - polls0) / (OPEN_TIMEOUT_US / 1000000);
        if (atomic_load(&s->timed_out) && !c->pb && rate > 100000)
            snprintf(err, errsz,
                     "cannot open: the server sends a flood of data that is not an RTSP "
                     "answer; is it a camera's RTSP port?");
        else if (atomic_load(&s->timed_out) && !c->pb && rate > 40)
            snprintf(err, errsz,
                     "cannot open: the server answers too slowly (no complete answer within "
                     "%d s)",
                     OPEN_TIMEOUT_US / 1000000);
        else if (atomic_load(&s->timed_out))
            open_timeout_error(c, "cannot open", err, errsz);
        else if (ret == AVERROR_INVALIDDATA && is_rtsp(url))
            snprintf(err, errsz,
                     "cannot open: the server's answer is not RTSP (%s); is it a camera's RTSP "
                     "port?",
                     averr(ret, e, sizeof e));
        else if (ret == AVERROR_INVALIDDATA && bytes_read(c) > 0)
            snprintf(err, errsz,
                     "cannot open: the stream sends data that is not video (no known format in "
                     "the first %lld KiB)",
                     (long long)((bytes_read(c) + 1023) / 1024));
        else if (avlog.last[0] && !strstr(avlog.last, averr(ret, e, sizeof e)))
            snprintf(err, errsz, "cannot open: %.100s (%.120s)", e, avlog.last);
        else
            snprintf(err, errsz, "cannot open: %s", averr(ret, e, sizeof e));
        goto fail;
    }
    /* A file FFmpeg only guessed at (it warns "misdetection possible") is garbage more
     * often than video: random bytes pass for raw H.263 and decode into noise. */
    if (w->is_file && c->fmt->probe_score <= AVPROBE_SCORE_RETRY) {
        snprintf(err, errsz,
                 "cannot open: not a recognised video file (at best %s, probe score %d)",
                 c->fmt->iformat->name, c->fmt->probe_score);
        goto fail;
    }
    arm(s, vw_now_us() + OPEN_TIMEOUT_US);
    ret = avformat_find_stream_info(c->fmt, NULL);
    /* Interrupted by the deadline, it may still return success with what it saw; the I/O
     * context then keeps the interruption as its error and the first read fails with it. */
    if (ret < 0 || atomic_load(&s->timed_out)) {
        if (atomic_load(&s->timed_out))
            open_timeout_error(c, "cannot read stream info", err, errsz);
        else
            snprintf(err, errsz, "cannot read stream info: %s%s", averr(ret, e, sizeof e),
                     ret == AVERROR_INVALIDDATA ? " (the stream is not video FFmpeg can read)"
                                                : "");
        goto fail;
    }

    const AVCodec *codec = NULL;
    ret = av_find_best_stream(c->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (ret < 0) {
        const AVCodecParameters *par = NULL;
        for (unsigned i = 0; i < c->fmt->nb_streams; i++)
            if (c->fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !par)
                par = c->fmt->streams[i]->codecpar;
        if (par && par->codec_id != AV_CODEC_ID_NONE) {
            snprintf(err, errsz, "unsupported codec %s: this FFmpeg has no decoder for it",
                     avcodec_get_name(par->codec_id));
        } else if (par) {
            char tag[AV_FOURCC_MAX_STRING_SIZE];
            snprintf(err, errsz,
                     "unsupported codec none: a video codec FFmpeg does not know (tag %s)",
                     av_fourcc_make_string(tag, par->codec_tag));
        } else {
            snprintf(err, errsz, "no video stream (%u other stream%s: audio or data only)",
                     c->fmt->nb_streams, c->fmt->nb_streams == 1 ? "" : "s");
        }
        goto fail;
    }
    c->vidx = ret;
    AVStream *st = c->fmt->streams[c->vidx];
    for (unsigned i = 0; i < c->fmt->nb_streams; i++)
        if ((int)i != c->vidx)
            c->fmt->streams[i]->discard = AVDISCARD_ALL;
    c->tb = st->time_base;
    AVRational fr = av_guess_frame_rate(c->fmt, st, NULL);
    c->frame_dur_us = fr.num > 0 && fr.den > 0 ? av_rescale(1000000, fr.den, fr.num) : 33333;
    if (c->frame_dur_us < 1000 || c->frame_dur_us > 1000000)
        c->frame_dur_us = 33333;

    c->dec = avcodec_alloc_context3(codec);
    if (!c->dec) {
        snprintf(err, errsz, "out of memory");
        goto fail;
    }
    ret = avcodec_parameters_to_context(c->dec, st->codecpar);
    if (ret < 0) {
        snprintf(err, errsz, "bad codec parameters: %s", averr(ret, e, sizeof e));
        goto fail;
    }
    c->dec->pkt_timebase = st->time_base;
    /* More decoders than cores: they are the parallelism; codec threads of their own would
     * only add switches between threads and (frame threading) a frame of delay. */
    int cpus = av_cpu_count();
    c->dec->thread_count = atomic_load(&decoders_running) > cpus ? 1
                           : cpus < MAX_CODEC_THREADS            ? cpus
                                                                 : MAX_CODEC_THREADS;
    c->dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    if (!w->is_file)
        c->dec->flags |= AV_CODEC_FLAG_LOW_DELAY; /* also rules out frame threading's delay */
    setup_hw(w, c, codec);
    ret = avcodec_open2(c->dec, codec, NULL);
    if (ret < 0) {
        snprintf(err, errsz, "cannot open the %s decoder: %s", codec->name,
                 averr(ret, e, sizeof e));
        goto fail;
    }
    arm(s, 0);
    return true;

fail:
    close_conn(s, c);
    return false;
}

/* Files: waits until the frame is due; *late_us says how late it already was. False when
 * stopped. */
static bool pace(struct worker *w, const struct conn *c, int64_t pts_us, int64_t *late_us)
{
    int64_t now = vw_now_us();
    *late_us = 0;
    if (!w->pace_started) {
        w->pace_started = true;
        w->base_us = now;
        w->base_pts_us = pts_us;
    } else {
        int64_t step = pts_us - w->last_pts_us;
        if (step <= 0 || step > PACE_JUMP_US) { /* loop, seek, reopen or a broken timestamp */
            w->base_us = w->last_due_us + c->frame_dur_us;
            w->base_pts_us = pts_us;
        }
    }
    int64_t due = w->base_us + (pts_us - w->base_pts_us);
    if (due < now)
        *late_us = now - due;
    if (due < now - PACE_LATE_US) { /* decoding fell behind: carry on from now */
        w->base_us = now;
        w->base_pts_us = pts_us;
        due = now;
    }
    w->last_pts_us = pts_us;
    w->last_due_us = due;
    return due <= now || sleep_until(w->s, due);
}

/* Files shown by several nodes (a tile spanning them): the frame at media time m since the
 * shared epoch was captured, as far as the wall is concerned, at epoch + m and shows at
 * epoch + m + playout on every node, whose decoders opened the file at the same moment.
 * *capture_us gets epoch + m. False when stopped. */
static bool pace_shared(struct worker *w, const struct conn *c, int64_t pts_us, int64_t epoch,
                        int playout_ms, int64_t *late_us, int64_t *capture_us)
{
    /* Media time is the file's own: pts since the first frame of this epoch and connection,
     * so frames skipped by a decoder catching up (keyframes only) keep their times on every
     * node; a loop (pts going back) continues one frame after the last. */
    if (!w->media_started || epoch != w->epoch_used || c != w->media_conn) {
        w->media_started = true;
        w->epoch_used = epoch;
        w->media_conn = c;
        w->media_offset_us = 0;
        w->media_base_pts_us = pts_us;
    } else if (pts_us <= w->last_pts_us) {
        w->media_offset_us = w->media_us + c->frame_dur_us;
        w->media_base_pts_us = pts_us;
    }
    w->media_us = w->media_offset_us + (pts_us - w->media_base_pts_us);
    w->last_pts_us = pts_us;
    w->pace_started = false; /* the plain pacing starts afresh if the epoch goes */
    *capture_us = epoch + w->media_us;
    int64_t due_rt = *capture_us + (int64_t)playout_ms * 1000 - PLAYOUT_EARLY_US;
    int64_t now_rt = vw_realtime_us();
    *late_us = now_rt > due_rt ? now_rt - due_rt : 0;
    /* Behind (opened late, or decoding slowly): no wait, so the file catches up. */
    return due_rt <= now_rt || sleep_until(w->s, vw_now_us() + (due_rt - now_rt));
}

/* Live streams: how far behind the stream's own clock this frame comes out. */
static int64_t live_lateness(struct conn *c, int64_t pts_us, int64_t now)
{
    int64_t lag = (now - c->clock_base_us) - (pts_us - c->clock_base_pts_us);
    if (!c->clock_started || lag < c->min_lag_us - PACE_JUMP_US ||
        lag > c->min_lag_us + 10 * PACE_JUMP_US) {
        /* first frame, or the stream's timestamps jumped: start measuring again */
        c->clock_started = true;
        c->clock_base_us = now;
        c->clock_base_pts_us = pts_us;
        c->min_lag_us = 0;
        return 0;
    }
    if (lag < c->min_lag_us)
        c->min_lag_us = lag;
    return lag - c->min_lag_us;
}

/* When the packet's picture was captured, in the sender's CLOCK_REALTIME microseconds:
 * FFmpeg's RTP demuxer attaches it (AV_PKT_DATA_PRFT) once an RTCP sender report has mapped
 * RTP timestamps to the sender's wallclock. 0 when unknown (files, HTTP, before the first
 * sender report). */
static int64_t capture_us(const AVPacket *pkt)
{
    size_t size = 0;
    const uint8_t *sd = av_packet_get_side_data(pkt, AV_PKT_DATA_PRFT, &size);
    if (!sd || size < sizeof(AVProducerReferenceTime))
        return 0;
    const AVProducerReferenceTime *prft = (const AVProducerReferenceTime *)(const void *)sd;
    return prft->wallclock > 0 ? prft->wallclock : 0;
}

static void record_frame(struct vw_source *s, const AVFrame *f, const struct conn *c, bool hw,
                         int64_t now, bool late)
{
    pthread_mutex_lock(&s->lock);
    s->st.sync |= f->reordered_opaque > 0;
    s->st.frames_decoded++;
    s->st.frames_late += late;
    s->st.width = f->width;
    s->st.height = f->height;
    s->st.hw = hw;
    s->st.substream = c->sub;
    s->st.shed = c->shed;
    s->last_frame_us = now;
    s->fps_ring[s->fps_next] = now;
    s->fps_next = (s->fps_next + 1) % FPS_RING;
    if (s->fps_count < FPS_RING)
        s->fps_count++;
    pthread_mutex_unlock(&s->lock);
}

/* The decoder's own load shedding, after each frame (see the top of this file): over
 * SHED_LATE_US behind for SHED_GRACE_US, keyframes only until a keyframe comes on time (or
 * as late as before); then non-reference frames skipped for SHED_HOLD_US, as while the
 * renderer replaces most frames unseen. */
static void update_shed(struct vw_source *s, struct conn *c, int64_t late_us, int64_t now)
{
    if (late_us <= SHED_LATE_US)
        c->late_since_us = 0;
    else if (!c->late_since_us)
        c->late_since_us = now;
    if (!c->catching_up && c->late_since_us && now - c->late_since_us >= SHED_GRACE_US) {
        c->catching_up = true;
        c->catchup_from_us = late_us;
        pthread_mutex_lock(&s->lock);
        s->st.catchups++;
        pthread_mutex_unlock(&s->lock);
        vw_debug("source '%s': %lld ms behind its stream, skipping to the next keyframe", s->id,
                 (long long)(late_us / 1000));
    } else if (c->catching_up && c->shed == VW_SHED_KEYFRAMES) {
        /* A keyframe after the skip. On time: caught up. As late as before: the delay is
         * upstream (a server that sends late), which skipping cannot undo; lateness is
         * measured from here on. */
        bool upstream = late_us > c->catchup_from_us - SHED_LATE_US / 2;
        if (late_us <= SHED_LATE_US / 2 || upstream) {
            c->catching_up = false;
            c->late_since_us = 0;
            c->shed_until_us = now + SHED_HOLD_US;
            if (upstream)
                c->clock_started = false;
        }
    }
    if (now - c->unseen_since_us >= 1000000) {
        uint64_t posted, dropped;
        vw_mailbox_counts(s->mb, &posted, &dropped);
        uint64_t n = posted - c->posted_at_start, unseen = dropped - c->dropped_at_start;
        if (c->unseen_since_us && n > 0 && (double)unseen > SHED_UNSEEN * (double)n)
            c->shed_until_us = now + SHED_HOLD_US;
        c->unseen_since_us = now;
        c->posted_at_start = posted;
        c->dropped_at_start = dropped;
    }
}

/* Sets what the decoder skips. Takes effect from the next packet it decodes. */
static void set_shed(struct vw_source *s, struct conn *c, enum vw_source_shed shed)
{
    static const enum AVDiscard frames[] = {AVDISCARD_DEFAULT, AVDISCARD_NONREF, AVDISCARD_NONKEY};
    c->dec->skip_frame = frames[shed];
    c->dec->skip_loop_filter = shed == VW_SHED_NONE ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
    vw_debug("source '%s': decoding %s", s->id,
             shed == VW_SHED_NONE     ? "every frame"
             : shed == VW_SHED_NONREF ? "without non-reference frames and deblocking"
                                      : "keyframes only");
    c->shed = shed;
}

/* A live frame captured at `captured_us` (sender's realtime; 0: unknown) waits until
 * captured_us + playout_ms, when a playout is set: every node showing the camera then shows
 * it at the same moment, whatever its own network and decoding delays. A capture time in the
 * future (clocks out of step) holds no longer than playout_ms. Frames queue meanwhile in the
 * connection (the stream comes at its own pace). Returns false when stopped. */
static bool hold_for_playout(struct vw_source *s, int64_t captured_us)
{
    int playout_ms = atomic_load(&s->playout_ms);
    if (playout_ms <= 0 || captured_us <= 0)
        return true;
    int64_t now_rt = vw_realtime_us();
    /* Posted a little before its moment, so it is there when the redraw at that moment
     * looks (vw_mailbox_take_due keeps it waiting until then). */
    int64_t wait = captured_us + (int64_t)playout_ms * 1000 - PLAYOUT_EARLY_US - now_rt;
    if (wait <= 0)
        return true;
    if (wait > (int64_t)playout_ms * 1000)
        wait = (int64_t)playout_ms * 1000;
    return sleep_until(s, vw_now_us() + wait);
}

/* Paces (files), posts and counts one decoded frame. Returns false when stopped. */
static bool deliver(struct worker *w, struct conn *c, char *err, size_t errsz, bool *failed)
{
    struct vw_source *s = w->s;
    AVFrame *out = w->frame;
    int64_t ts = w->frame->best_effort_timestamp;
    bool hw = false;

    if (c->hw_fmt != AV_PIX_FMT_NONE && w->frame->format == c->hw_fmt) {
        av_frame_unref(w->sw);
        int ret = av_hwframe_transfer_data(w->sw, w->frame, 0);
        if (ret >= 0)
            ret = av_frame_copy_props(w->sw, w->frame); /* colorspace, range, pts... */
        av_frame_unref(w->frame);
        if (ret < 0) {
            char e[128];
            snprintf(err, errsz, "hardware frame transfer failed: %s", averr(ret, e, sizeof e));
            av_frame_unref(w->sw);
            w->hw_given_up = true;
            *failed = true;
            return true;
        }
        out = w->sw;
        hw = true;
    }
    int64_t pts_us = ts == AV_NOPTS_VALUE ? w->last_pts_us + c->frame_dur_us
                                          : av_rescale_q(ts, c->tb, AV_TIME_BASE_Q);
    int64_t late_us = 0;
    int64_t epoch = atomic_load(&s->epoch_us);
    int playout = atomic_load(&s->playout_ms);
    if (w->is_file && epoch > 0 && playout > 0) {
        int64_t captured = 0;
        if (!pace_shared(w, c, pts_us, epoch, playout, &late_us, &captured)) {
            av_frame_unref(out);
            return false;
        }
        out->reordered_opaque = captured;
    } else if (w->is_file && !pace(w, c, pts_us, &late_us)) {
        av_frame_unref(out);
        return false;
    }
    if (!w->is_file && !hold_for_playout(s, out->reordered_opaque)) {
        av_frame_unref(out);
        return false;
    }
    int64_t now = vw_now_us();
    if (!w->is_file) {
        late_us = live_lateness(c, pts_us, now);
        w->last_pts_us = pts_us;
    }
    record_frame(s, out, c, hw, now, late_us > LATE_US);
    update_shed(s, c, late_us, now);
    if (!c->got_frame) {
        c->got_frame = true;
        c->first_frame_us = now;
        if (get_state(s) != VW_SOURCE_LIVE)
            set_state(s, VW_SOURCE_LIVE, NULL);
    }
    int playout_ms = atomic_load(&s->playout_ms);
    int64_t captured = out->reordered_opaque;
    vw_mailbox_post(s->mb, out, now,
                    playout_ms > 0 && captured > 0 ? captured + (int64_t)playout_ms * 1000 : 0);
    wake(s);
    return true;
}

/* Marks a source that stopped producing frames: stalled when it was showing one,
 * offline when it never came up; says what the stream did meanwhile when that is known. */
static void set_stalled(struct vw_source *s, struct conn *c, double secs)
{
    char why[160];
    int64_t bytes = bytes_read(c);
    describe_silence(c, bytes < 0 ? -1 : bytes - c->bytes_at_progress, secs, why, sizeof why);
    enum vw_source_state st = get_state(s);
    if (st == VW_SOURCE_LIVE || st == VW_SOURCE_STALLED)
        set_state(s, VW_SOURCE_STALLED, "no frame for %.1f s%s%s", secs, why[0] ? ": " : "", why);
    else
        set_state(s, VW_SOURCE_OFFLINE, "opened, but no video frame within %.1f s%s%s", secs,
                  why[0] ? ": " : "", why);
}

/* A read failed with `ret` (not a deadline, not stop): the operator's words for it. */
static void set_read_error(struct vw_source *s, int ret)
{
    char e[128];
    if (ret == AVERROR(ECONNRESET) || ret == AVERROR(EPIPE))
        set_state(s, VW_SOURCE_OFFLINE, "the server dropped the connection (%s)",
                  averr(ret, e, sizeof e));
    else if (ret == AVERROR_INVALIDDATA)
        set_state(s, VW_SOURCE_OFFLINE, "the stream sends data that is not video (%s)",
                  averr(ret, e, sizeof e));
    else
        set_state(s, VW_SOURCE_OFFLINE, "read error: %s", averr(ret, e, sizeof e));
}

/* Acts on vw_source_yield, on the source's thread: Linux's nice value is the calling
 * thread's (setpriority(2), BUGS); the codec's threads opened from now on inherit it. */
static void yield_cpu(struct worker *w)
{
    w->yielded = true;
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), DECODER_NICE) != 0)
        vw_debug("source '%s': cannot lower the decoder's priority: %s", w->s->id, strerror(errno));
}

/* Reads and decodes until something ends the connection. */
static enum end run_conn(struct worker *w, struct conn *c)
{
    struct vw_source *s = w->s;
    int64_t stall_us = (int64_t)(s->stall_timeout * 1e6);
    int64_t progress_us = vw_now_us(); /* last decoded frame, or the open */
    uint64_t frames_since_start = 0;   /* since the open or the last loop */
    uint64_t frames = 0;               /* since the open */
    bool draining = false, stall_after = false, looped = false;
    char err[sizeof s->st.error] = "";
    char e[128];

    c->bytes_at_progress = bytes_read(c);
    for (;;) {
        if (atomic_load(&s->stop))
            return END_STOP;
        if (atomic_load(&s->reconnect))
            return END_RECONNECT;
        if (!w->yielded && atomic_load(&s->yield))
            yield_cpu(w);
        if (s->substream && atomic_load(&s->want_sub) != c->sub) {
            vw_info("source '%s': switching to the %s", s->id,
                    c->sub ? "main stream" : "substream");
            return END_SWITCH;
        }
        enum vw_source_shed shed = c->catching_up ? VW_SHED_KEYFRAMES
                                   : atomic_load(&s->skip_nonref) || vw_now_us() < c->shed_until_us
                                       ? VW_SHED_NONREF
                                       : VW_SHED_NONE;
        if (shed != c->shed)
            set_shed(s, c, shed);

        if (!draining) {
            arm(s, progress_us + stall_us);
            int ret = av_read_frame(c->fmt, w->pkt);
            if (ret == AVERROR(EAGAIN)) {
                if (vw_now_us() > progress_us + stall_us) {
                    set_stalled(s, c, s->stall_timeout);
                    return END_LOST;
                }
                if (!sleep_until(s, vw_now_us() + 10000))
                    return END_STOP;
                continue;
            }
            if (ret < 0) {
                if (atomic_load(&s->stop))
                    return END_STOP;
                if (atomic_load(&s->reconnect))
                    return END_RECONNECT;
                /* AVERROR_EXIT is always our interrupt callback: a deadline, even when the
                 * I/O context kept it from an earlier call. */
                if (atomic_load(&s->timed_out) || ret == AVERROR_EXIT) {
                    set_stalled(s, c, s->stall_timeout);
                    return END_LOST;
                }
                if (ret != AVERROR_EOF && !(c->fmt->pb && avio_feof(c->fmt->pb))) {
                    set_read_error(s, ret);
                    return END_LOST;
                }
                draining = true;
                avcodec_send_packet(c->dec, NULL);
            } else if (w->pkt->stream_index != c->vidx) {
                av_packet_unref(w->pkt);
                if (atomic_load(&s->timed_out)) {
                    set_stalled(s, c, s->stall_timeout);
                    return END_LOST;
                }
                continue;
            } else {
                /* The deadline passed inside the call, yet it returned a packet: RTP
                 * depacketizers hand over the frame they held when the socket gives up.
                 * Decode it, then count the stall (it is not a sign of life). */
                stall_after = atomic_load(&s->timed_out);
                /* The capture time rides through the decoder's reordering to the frame
                 * (AVFrame.reordered_opaque); 0: unknown. */
                c->dec->reordered_opaque = capture_us(w->pkt);
                ret = avcodec_send_packet(c->dec, w->pkt);
                av_packet_unref(w->pkt);
                if (ret < 0 && ret != AVERROR(EAGAIN)) {
                    c->decode_errors++;
                    averr(ret, c->decode_error, sizeof c->decode_error);
                    vw_debug("source '%s': decode error: %s", s->id, c->decode_error);
                }
            }
        }

        for (;;) {
            int ret = avcodec_receive_frame(c->dec, w->frame);
            if (ret == AVERROR(EAGAIN))
                break;
            if (ret == AVERROR_EOF) {
                if (!w->is_file) {
                    if (frames)
                        set_state(s, VW_SOURCE_OFFLINE,
                                  "the server ended the stream (after %llu frames)",
                                  (unsigned long long)frames);
                    else
                        set_state(s, VW_SOURCE_OFFLINE,
                                  "the server ended the stream before its first frame");
                    return END_LOST;
                }
                if (!s->loop)
                    return END_EOF;
                if (frames_since_start == 0) {
                    /* A seek back to the start that found nothing (timestamps that jump
                     * backwards fool timestamp seeks): open the file afresh. Only a file
                     * that has no frame from its very start is empty. */
                    if (looped)
                        return END_REOPEN;
                    set_state(s, VW_SOURCE_OFFLINE, "no video frame in the file");
                    return END_LOST;
                }
                /* Loop: back to the start; pacing carries on from the last frame. Formats
                 * whose timestamps may jump (MPEG-TS) go back by byte, the rest by time. */
                avcodec_flush_buffers(c->dec);
                int64_t start = c->fmt->start_time != AV_NOPTS_VALUE ? c->fmt->start_time : 0;
                const AVInputFormat *ifmt = c->fmt->iformat;
                bool by_byte = (ifmt->flags & AVFMT_TS_DISCONT) &&
                               !(ifmt->flags & AVFMT_NO_BYTE_SEEK) && c->fmt->pb;
                arm(s, vw_now_us() + OPEN_TIMEOUT_US);
                if ((by_byte ? avformat_seek_file(c->fmt, -1, 0, 0, 0, AVSEEK_FLAG_BYTE)
                             : avformat_seek_file(c->fmt, -1, INT64_MIN, start, start, 0)) < 0)
                    return END_REOPEN;
                draining = false;
                looped = true;
                frames_since_start = 0;
                progress_us = vw_now_us();
                break;
            }
            if (ret < 0) {
                set_state(s, VW_SOURCE_OFFLINE, "the decoder failed: %s", averr(ret, e, sizeof e));
                return END_LOST;
            }
            bool failed = false;
            if (!deliver(w, c, err, sizeof err, &failed))
                return END_STOP;
            if (failed) {
                set_state(s, VW_SOURCE_OFFLINE, "%s", err);
                return END_LOST;
            }
            frames_since_start++;
            frames++;
            progress_us = vw_now_us();
            c->bytes_at_progress = bytes_read(c);
            c->decode_errors = 0;
        }
        if (stall_after) {
            set_stalled(s, c, s->stall_timeout);
            return END_LOST;
        }
    }
}

/* Acts on vw_source_reconnect: the flag is taken, the backoff starts over. */
static void take_reconnect(struct vw_source *s, int64_t *backoff_us)
{
    atomic_store(&s->reconnect, false);
    *backoff_us = BACKOFF_MIN_US;
    pthread_mutex_lock(&s->lock);
    s->st.reconnects++;
    s->st.backoff_ms = 0;
    pthread_mutex_unlock(&s->lock);
    vw_info("source '%s': reconnecting now, as asked", s->id);
}

static void *source_thread(void *arg)
{
    struct vw_source *s = arg;
    struct worker w = {.s = s, .is_file = !is_network(s->url)};
    avlog.on = true;
    atomic_fetch_add(&decoders_running, 1);
    w.pkt = av_packet_alloc();
    w.frame = av_frame_alloc();
    w.sw = av_frame_alloc();
    if (!w.pkt || !w.frame || !w.sw) {
        set_state(s, VW_SOURCE_OFFLINE, "out of memory");
        goto wait_stop;
    }

    set_state(s, VW_SOURCE_CONNECTING, NULL);
    int64_t backoff_us = BACKOFF_MIN_US;
    for (;;) {
        struct conn c = {.vidx = -1, .hw_fmt = AV_PIX_FMT_NONE};
        c.sub = s->substream && atomic_load(&s->want_sub);
        const char *url = c.sub ? s->substream : s->url;
        char err[sizeof s->st.error];
        enum end why;
        if (open_conn(&w, &c, url, err, sizeof err)) {
            why = run_conn(&w, &c);
            /* Only a stream that stayed live a while earns a quick retry: one that gives a
             * frame per connection and fails must not flap live/offline every 0.5 s. */
            if (c.got_frame && vw_now_us() - c.first_frame_us >= BACKOFF_RESET_US)
                backoff_us = BACKOFF_MIN_US;
            close_conn(s, &c);
        } else if (atomic_load(&s->stop)) {
            why = END_STOP;
        } else if (atomic_load(&s->reconnect)) {
            why = END_RECONNECT;
        } else {
            /* A frozen camera that does not answer the reconnect stays "stalled" (its last
             * picture is what the wall shows); one that never came up is offline. */
            enum vw_source_state now = get_state(s);
            set_state(s, now == VW_SOURCE_STALLED ? now : VW_SOURCE_OFFLINE, "%s", err);
            why = END_LOST;
        }

        if (why == END_STOP)
            break;
        if (why == END_SWITCH || why == END_REOPEN)
            continue;
        if (why == END_RECONNECT || atomic_load(&s->reconnect)) {
            /* Asked for (vw_source_reconnect): at once, the backoff back at its start; the
             * last frame stays in the mailbox until the new stream's first one. */
            take_reconnect(s, &backoff_us);
            continue;
        }
        if (why == END_EOF) { /* a file without loop: its last frame stays */
            set_state(s, VW_SOURCE_OFFLINE, "end of stream");
            pthread_mutex_lock(&s->lock);
            while (!atomic_load(&s->stop) && !atomic_load(&s->reconnect))
                pthread_cond_wait(&s->cond, &s->lock);
            pthread_mutex_unlock(&s->lock);
            if (atomic_load(&s->stop))
                break;
            take_reconnect(s, &backoff_us); /* plays the file again */
            continue;
        }
        pthread_mutex_lock(&s->lock);
        s->st.backoff_ms = backoff_us / 1000;
        pthread_mutex_unlock(&s->lock);
        if (!sleep_until(s, vw_now_us() + backoff_us))
            break;
        if (atomic_load(&s->reconnect)) { /* asked during the wait: the branch above */
            take_reconnect(s, &backoff_us);
            continue;
        }
        backoff_us = backoff_us * 2 > BACKOFF_MAX_US ? BACKOFF_MAX_US : backoff_us * 2;
        pthread_mutex_lock(&s->lock);
        s->st.reconnects++;
        pthread_mutex_unlock(&s->lock);
        vw_debug("source '%s': reconnecting (attempt %d)", s->id, s->st.reconnects);
    }
    goto done;

wait_stop:
    pthread_mutex_lock(&s->lock);
    while (!atomic_load(&s->stop))
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
done:
    av_buffer_unref(&w.hwdev);
    av_frame_free(&w.sw);
    av_frame_free(&w.frame);
    av_packet_free(&w.pkt);
    atomic_fetch_sub(&decoders_running, 1);
#ifdef __GLIBC__
    /* The decoder's buffers are free now: give whole free pages back to the system, so a wall
     * that shows fewer streams than before (an incident scene gone) shrinks. On this thread,
     * never the render loop's. */
    malloc_trim(0);
#endif
    return NULL;
}

static char *dup_or_null(const char *str, bool *oom)
{
    if (!str)
        return NULL;
    char *d = strdup(str);
    if (!d)
        *oom = true;
    return d;
}

static void free_source(struct vw_source *s)
{
    vw_mailbox_destroy(s->mb);
    free(s->id);
    free(s->url);
    free(s->substream);
    free(s->transport);
    free(s);
}

static pthread_once_t net_once = PTHREAD_ONCE_INIT;
static void net_init(void)
{
    avformat_network_init();
    av_log_set_callback(avlog_callback);
}

struct vw_source *vw_source_create(const struct vw_source_cfg *cfg, bool substream,
                                   vw_source_wakeup_fn wakeup, void *ud)
{
    pthread_once(&net_once, net_init);
    struct vw_source *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    bool oom = false;
    s->id = dup_or_null(cfg->id ? cfg->id : "", &oom);
    s->url = dup_or_null(cfg->url ? cfg->url : "", &oom);
    s->substream = cfg->substream && cfg->substream[0] ? dup_or_null(cfg->substream, &oom) : NULL;
    s->transport = cfg->transport && cfg->transport[0] ? dup_or_null(cfg->transport, &oom) : NULL;
    s->loop = cfg->loop;
    s->stall_timeout = cfg->stall_timeout > 0 ? cfg->stall_timeout : 3.0;
    s->hwaccel = cfg->hwaccel;
    s->wakeup = wakeup;
    s->ud = ud;
    s->mb = vw_mailbox_create();
    atomic_init(&s->stop, false);
    atomic_init(&s->want_sub, substream);
    atomic_init(&s->skip_nonref, false);
    atomic_init(&s->playout_ms, 0);
    atomic_init(&s->reconnect, false);
    atomic_init(&s->yield, false);
    atomic_init(&s->deadline_us, 0);
    atomic_init(&s->timed_out, false);
    atomic_init(&s->polls, 0);
    s->st.state = VW_SOURCE_IDLE;
    if (oom || !s->mb)
        goto fail_alloc;

    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        goto fail_alloc;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* vw_now_us's clock */
    int ret = pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (ret != 0)
        goto fail_alloc;
    if (pthread_mutex_init(&s->lock, NULL) != 0)
        goto fail_cond;
    if (pthread_create(&s->thread, NULL, source_thread, s) != 0)
        goto fail_mutex;
    return s;

fail_mutex:
    pthread_mutex_destroy(&s->lock);
fail_cond:
    pthread_cond_destroy(&s->cond);
fail_alloc:
    free_source(s);
    return NULL;
}

static void finish_destroy(struct vw_source *s)
{
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free_source(s);
}

/* Joins a source thread that outlived vw_source_destroy's wait, then frees the source. */
static void *reaper(void *arg)
{
    struct vw_source *s = arg;
    pthread_join(s->thread, NULL);
    vw_info("source '%s': its thread finished; freed", s->id);
    finish_destroy(s);
    return NULL;
}

void vw_source_destroy(struct vw_source *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    atomic_store(&s->stop, true);
    s->wakeup = NULL; /* whatever the thread does from now on wakes nobody */
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    /* A thread sees `stop` at its next interrupt check and ends within milliseconds. Some
     * calls have no deadline (a host name lookup through a broken resolver, an open() of a
     * FIFO named as a camera's URL): the caller (the render loop, a frame lasts 16-40 ms)
     * waits 50 ms at most and leaves the rest to a reaper thread. */
    struct timespec until = vw_realtime_after(DESTROY_WAIT_MS);
    if (pthread_timedjoin_np(s->thread, NULL, &until) == 0) {
        finish_destroy(s);
        return;
    }
    vw_warn("source '%s': its thread is still in a blocking call after %d ms; it is left to "
            "finish in the background",
            s->id, DESTROY_WAIT_MS);
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, reaper, s) != 0)
        vw_err("source '%s': cannot start a reaper thread; its memory is left behind", s->id);
    pthread_attr_destroy(&attr);
}

struct AVFrame *vw_source_frame(struct vw_source *s, bool *fresh, int64_t *decoded_at_us,
                                int64_t slot_rt_us)
{
    bool got = false;
    AVFrame *f = vw_mailbox_take_due(s->mb, &got, decoded_at_us, slot_rt_us);
    if (got) {
        pthread_mutex_lock(&s->lock);
        s->st.frames_shown++;
        pthread_mutex_unlock(&s->lock);
    }
    if (fresh)
        *fresh = got;
    return f;
}

bool vw_source_is_file(const struct vw_source *s)
{
    return !is_network(s->url);
}

int64_t vw_source_waiting_due(struct vw_source *s)
{
    return vw_mailbox_waiting_due(s->mb);
}

void vw_source_get_stats(struct vw_source *s, struct vw_source_stats *out)
{
    int64_t now = vw_now_us();
    pthread_mutex_lock(&s->lock);
    *out = s->st;
    out->last_frame_age_ms = s->st.frames_decoded ? (now - s->last_frame_us) / 1000 : -1;
    int n = 0;
    int64_t newest = 0, oldest = 0;
    for (int i = 1; i <= s->fps_count; i++) {
        int64_t t = s->fps_ring[(s->fps_next - i + FPS_RING) % FPS_RING];
        if (t < now - FPS_WINDOW_US)
            break;
        if (n == 0)
            newest = t;
        oldest = t;
        n++;
    }
    pthread_mutex_unlock(&s->lock);
    out->fps = n >= 2 && newest > oldest ? (n - 1) * 1e6 / (double)(newest - oldest) : 0.0;
}

void vw_source_prefer_substream(struct vw_source *s, bool substream)
{
    if (s->substream)
        atomic_store(&s->want_sub, substream);
}

void vw_source_set_skip_nonref(struct vw_source *s, bool skip)
{
    atomic_store(&s->skip_nonref, skip);
}

void vw_source_yield(struct vw_source *s)
{
    atomic_store(&s->yield, true);
}

void vw_source_set_epoch(struct vw_source *s, int64_t epoch_us)
{
    atomic_store(&s->epoch_us, epoch_us);
}

void vw_source_set_playout(struct vw_source *s, int playout_ms)
{
    atomic_store(&s->playout_ms, playout_ms);
}

void vw_source_reconnect(struct vw_source *s)
{
    pthread_mutex_lock(&s->lock);
    atomic_store(&s->reconnect, true);
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}
