/* test_source: real FFmpeg decoding of the generated test clips (VWALL_CLIPS), broken and
 * unreachable inputs, a black-hole camera, the software fallback of hwaccel, and live RTSP
 * from tests/rtsp_server.py (gst-rtsp-server), including a server restart. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>
#include <libavutil/pixfmt.h>

#include "check.h"
#include "feeds/source.h"
#include "base/timeutil.h"

/* Under ThreadSanitizer: FFmpeg's libraries are not instrumented, so the reference counts
 * they synchronise frame buffers with (atomics inside libavutil) are invisible to TSan, and
 * a buffer allocated by a codec thread and freed by the source thread looks like a race.
 * Only reports whose interceptor is called from inside FFmpeg are suppressed. */
const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void)
{
    return "called_from_lib:libavutil.so\n"
           "called_from_lib:libavcodec.so\n"
           "called_from_lib:libavformat.so\n";
}

static const char *clips;
static atomic_int wakeups;

static void on_wakeup(void *ud)
{
    (void)ud;
    atomic_fetch_add(&wakeups, 1);
}

static struct vw_source *start(const char *url, bool loop, enum vw_hwaccel hw)
{
    struct vw_source_cfg cfg = {
        .id = "test", .url = (char *)url, .loop = loop, .stall_timeout = 2.0, .hwaccel = hw};
    struct vw_source *s = vw_source_create(&cfg, false, on_wakeup, NULL);
    CHECK(s != NULL);
    if (!s)
        exit(check_summary("test_source"));
    return s;
}

static const char *clip(const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", clips, name);
    return path;
}

static struct vw_source_stats stats(struct vw_source *s)
{
    struct vw_source_stats st;
    vw_source_get_stats(s, &st);
    return st;
}

/* Polls like a renderer (taking frames) until the state is `want` or `secs` pass. */
static bool wait_state(struct vw_source *s, enum vw_source_state want, double secs)
{
    int64_t end = vw_now_us() + (int64_t)(secs * 1e6);
    while (vw_now_us() < end) {
        vw_source_frame(s, NULL, NULL, 0);
        if (stats(s).state == want)
            return true;
        usleep(20000);
    }
    fprintf(stderr, "  waited %.1f s for %s, state is %s (%s)\n", secs, vw_source_state_name(want),
            vw_source_state_name(stats(s).state), stats(s).error);
    return false;
}

static void take_for(struct vw_source *s, double secs)
{
    int64_t end = vw_now_us() + (int64_t)(secs * 1e6);
    while (vw_now_us() < end) {
        vw_source_frame(s, NULL, NULL, 0);
        usleep(10000);
    }
}

static double destroy_timed(struct vw_source *s)
{
    int64_t t0 = vw_now_us();
    vw_source_destroy(s);
    return (double)(vw_now_us() - t0) / 1e6;
}

static void test_file(void)
{
    atomic_store(&wakeups, 0);
    struct vw_source *s = start(clip("red.mp4"), false, VW_HWACCEL_NONE);
    bool fresh = true;
    int64_t at = -1;
    struct vw_source_stats st = stats(s);
    CHECK(st.last_frame_age_ms == -1 || st.state == VW_SOURCE_LIVE);
    CHECK(wait_state(s, VW_SOURCE_LIVE, 5));
    st = stats(s);
    CHECK(st.width == 160 && st.height == 90);
    CHECK(st.error[0] == '\0');
    CHECK(!st.hw && !st.substream);

    /* Pacing: a 30 fps file decodes at about 30 fps, not as fast as the CPU allows. */
    uint64_t n0 = st.frames_decoded;
    take_for(s, 1.0);
    st = stats(s);
    uint64_t n = st.frames_decoded - n0;
    fprintf(stderr, "  red.mp4: %llu frames in 1 s, fps %.1f\n", (unsigned long long)n, st.fps);
    CHECK(n >= 15 && n <= 60);
    CHECK(st.fps > 10 && st.fps < 60);
    CHECK(st.frames_shown > 0 && st.frames_shown <= st.frames_decoded);
    CHECK(st.last_frame_age_ms >= 0 && st.last_frame_age_ms < 1000);

    const AVFrame *f = vw_source_frame(s, &fresh, &at, 0);
    CHECK(f != NULL);
    if (f) {
        CHECK(f->width == 160 && f->height == 90);
        CHECK(f->format == AV_PIX_FMT_YUV420P);
        CHECK(f->colorspace == AVCOL_SPC_BT709);
        CHECK(f->color_range == AVCOL_RANGE_MPEG);
        CHECK(at > 0);
    }

    /* A 2 s clip without loop ends: offline with "end of stream", its last frame kept. */
    CHECK(wait_state(s, VW_SOURCE_OFFLINE, 4));
    st = stats(s);
    CHECK(strcmp(st.error, "end of stream") == 0);
    CHECK(st.frames_decoded >= 55 && st.frames_decoded <= 62);
    vw_source_frame(s, NULL, NULL, 0);
    f = vw_source_frame(s, &fresh, NULL, 0);
    CHECK(f != NULL && !fresh);
    CHECK(atomic_load(&wakeups) > 0);
    CHECK(destroy_timed(s) < 1.0);
}

static void test_loop(void)
{
    struct vw_source *s = start(clip("red.mp4"), true, VW_HWACCEL_NONE);
    CHECK(wait_state(s, VW_SOURCE_LIVE, 5));
    take_for(s, 3.0); /* past the clip's 2 s */
    struct vw_source_stats st = stats(s);
    fprintf(stderr, "  loop: %llu frames in ~3 s, fps %.1f\n",
            (unsigned long long)st.frames_decoded, st.fps);
    CHECK(st.state == VW_SOURCE_LIVE);
    CHECK(st.frames_decoded > 70 && st.frames_decoded < 150);
    CHECK(st.fps > 15 && st.fps < 45); /* the loop keeps the pace continuous */
    CHECK(st.last_frame_age_ms < 500);
    CHECK(destroy_timed(s) < 1.0);
}

static void test_hevc_and_601(void)
{
    struct vw_source *s = start(clip("red-hevc.mp4"), true, VW_HWACCEL_NONE);
    CHECK(wait_state(s, VW_SOURCE_LIVE, 5));
    CHECK(stats(s).width == 160 && stats(s).height == 90);
    vw_source_destroy(s);

    s = start(clip("red-601.mp4"), true, VW_HWACCEL_NONE);
    CHECK(wait_state(s, VW_SOURCE_LIVE, 5));
    const AVFrame *f = vw_source_frame(s, NULL, NULL, 0);
    CHECK(f && f->width == 160 && f->height == 120 && f->colorspace == AVCOL_SPC_SMPTE170M);
    vw_source_destroy(s);

    s = start(clip("orange-full.mp4"), true, VW_HWACCEL_NONE);
    CHECK(wait_state(s, VW_SOURCE_LIVE, 5));
    f = vw_source_frame(s, NULL, NULL, 0);
    CHECK(f && f->color_range == AVCOL_RANGE_JPEG);
    vw_source_destroy(s);
}

static void test_broken(void)
{
    struct vw_source *s = start(clip("garbage.mp4"), false, VW_HWACCEL_NONE);
    CHECK(wait_state(s, VW_SOURCE_OFFLINE, 5));
    struct vw_source_stats st = stats(s);
    fprintf(stderr, "  garbage.mp4: %s\n", st.error);
    CHECK(st.error[0] != '\0');
    CHECK(st.frames_decoded == 0);
    CHECK(vw_source_frame(s, NULL, NULL, 0) == NULL);
    CHECK(destroy_timed(s) < 1.0);

    /* Half a file: decodes what it can (here the index is missing, so nothing), no crash. */
    s = start(clip("truncated.mp4"), true, VW_HWACCEL_NONE);
    take_for(s, 1.5);
    st = stats(s);
    fprintf(stderr, "  truncated.mp4: %s, %llu frames, %s\n", vw_source_state_name(st.state),
            (unsigned long long)st.frames_decoded, st.error);
    CHECK(st.state == VW_SOURCE_LIVE || st.state == VW_SOURCE_OFFLINE);
    CHECK(destroy_timed(s) < 1.0);

    s = start(clip("no-such-clip.mp4"), false, VW_HWACCEL_NONE);
    CHECK(wait_state(s, VW_SOURCE_OFFLINE, 5));
    st = stats(s);
    CHECK(strstr(st.error, "No such file") != NULL);
    vw_source_destroy(s);

    s = start("rtsp://nonexistent.invalid/x", false, VW_HWACCEL_NONE);
    CHECK(wait_state(s, VW_SOURCE_OFFLINE, 10));
    st = stats(s);
    fprintf(stderr, "  unresolvable host: %s\n", st.error);
    CHECK(st.error[0] != '\0');
    CHECK(destroy_timed(s) < 2.0);
}

/* A camera that accepts TCP and never answers (the listen backlog completes the handshake). */
static void test_black_hole(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 16) == 0 &&
          getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    char url[64];
    snprintf(url, sizeof url, "rtsp://127.0.0.1:%d/x", ntohs(a.sin_port));

    struct vw_source *s = start(url, false, VW_HWACCEL_NONE);
    take_for(s, 1.0);
    struct vw_source_stats st = stats(s);
    CHECK(st.state == VW_SOURCE_CONNECTING || st.state == VW_SOURCE_OFFLINE);
    double t = destroy_timed(s);
    fprintf(stderr, "  black hole: destroy took %.3f s\n", t);
    CHECK(t < 2.0);

    /* After the open deadline it is offline, and still stops at once. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", ntohs(a.sin_port));
    s = start(url, false, VW_HWACCEL_NONE);
    CHECK(wait_state(s, VW_SOURCE_OFFLINE, 8));
    fprintf(stderr, "  black hole (http): %s\n", stats(s).error);
    CHECK(stats(s).error[0] != '\0');
    CHECK(destroy_timed(s) < 2.0);
    close(fd);
}

/* A call without a deadline: opening a FIFO nobody writes blocks in open(2), as a host name
 * lookup does with a broken resolver. destroy must not wait for it; the thread is reaped once
 * the call returns. */
static void test_stuck_call(void)
{
    char fifo[] = "/tmp/vwall-fifo-XXXXXX";
    CHECK(mkdtemp(fifo) != NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/feed", fifo);
    CHECK(mkfifo(path, 0600) == 0);
    struct vw_source *s = start(path, false, VW_HWACCEL_NONE);
    take_for(s, 0.5);
    CHECK(stats(s).state == VW_SOURCE_CONNECTING);
    double t = destroy_timed(s);
    fprintf(stderr, "  stuck open(): destroy took %.3f s\n", t);
    CHECK(t < 2.0);
    /* Let the open return (a writer comes and goes) so the reaper can free the source. */
    int fd = open(path, O_WRONLY);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    usleep(1500000);
    unlink(path);
    rmdir(fifo);
}

static void test_hwaccel_fallback(void)
{
    struct vw_source *s = start(clip("green.mp4"), true, VW_HWACCEL_VAAPI);
    CHECK(wait_state(s, VW_SOURCE_LIVE, 5));
    struct vw_source_stats st = stats(s);
    CHECK(!st.hw);
    CHECK(st.width == 160 && st.height == 90);
    const AVFrame *f = vw_source_frame(s, NULL, NULL, 0);
    CHECK(f && f->format == AV_PIX_FMT_YUV420P);
    vw_source_destroy(s);
}

/* Hardware decoding on a machine that has it: VWALL_TEST_HW=cuda|vaapi. The frames arrive
 * in system memory (NV12 most likely) with their colour properties. */
static void test_hwaccel_device(void)
{
    const char *want = getenv("VWALL_TEST_HW");
    if (!want || !*want) {
        fprintf(stderr, "  not run: set VWALL_TEST_HW=cuda or vaapi on a machine with a GPU\n");
        return;
    }
    enum vw_hwaccel hw = strcmp(want, "vaapi") == 0  ? VW_HWACCEL_VAAPI
                         : strcmp(want, "auto") == 0 ? VW_HWACCEL_AUTO
                                                     : VW_HWACCEL_CUDA;
    const char *names[] = {"moving.mp4", "red.mp4", "red-hevc.mp4"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct vw_source *s = start(clip(names[i]), true, hw);
        CHECK(wait_state(s, VW_SOURCE_LIVE, 10));
        take_for(s, 1.0);
        struct vw_source_stats st = stats(s);
        const AVFrame *f = vw_source_frame(s, NULL, NULL, 0);
        fprintf(stderr, "  %s: hw %d, %dx%d, %s, fps %.1f, %llu frames\n", names[i], st.hw,
                st.width, st.height,
                f ? av_get_pix_fmt_name((enum AVPixelFormat)f->format) : "no frame", st.fps,
                (unsigned long long)st.frames_decoded);
        /* NVDEC takes no HEVC under 144x144: that clip may fall back to software. */
        CHECK(st.hw || strstr(names[i], "hevc"));
        CHECK(st.fps > 15 && st.fps < 45);
        CHECK(f && f->hw_frames_ctx == NULL && f->data[0] != NULL);
        CHECK(f && f->colorspace == AVCOL_SPC_BT709 && f->color_range == AVCOL_RANGE_MPEG);
        CHECK(f && f->width == st.width && f->height == st.height);
        vw_source_destroy(s);
    }
}

static void test_substream_and_skip(void)
{
    struct vw_source_cfg cfg = {
        .id = "sub", .url = (char *)clip("red.mp4"), .loop = true, .stall_timeout = 2.0};
    char sub[1024];
    snprintf(sub, sizeof sub, "%s/gray-601.mp4", clips);
    cfg.substream = sub;
    struct vw_source *s = vw_source_create(&cfg, false, on_wakeup, NULL);
    CHECK(wait_state(s, VW_SOURCE_LIVE, 5));
    CHECK(!stats(s).substream && stats(s).height == 90);

    /* Make-before-break: a frame is there at every poll during the switch. */
    vw_source_prefer_substream(s, true);
    bool blank = false, switched = false;
    for (int64_t end = vw_now_us() + 3000000; vw_now_us() < end && !switched; usleep(10000)) {
        const AVFrame *f = vw_source_frame(s, NULL, NULL, 0);
        blank |= f == NULL;
        struct vw_source_stats st = stats(s);
        switched = st.substream && f && f->height == 120;
    }
    CHECK(switched);
    CHECK(!blank);
    CHECK(stats(s).state == VW_SOURCE_LIVE);

    vw_source_set_skip_nonref(s, true);
    uint64_t n0 = stats(s).frames_decoded;
    take_for(s, 0.5);
    CHECK(stats(s).frames_decoded > n0);
    CHECK(stats(s).state == VW_SOURCE_LIVE);
    vw_source_set_skip_nonref(s, false);

    vw_source_prefer_substream(s, false);
    switched = false;
    for (int64_t end = vw_now_us() + 3000000; vw_now_us() < end && !switched; usleep(10000)) {
        const AVFrame *f = vw_source_frame(s, NULL, NULL, 0);
        blank |= f == NULL;
        switched = !stats(s).substream && f && f->height == 90;
    }
    CHECK(switched);
    CHECK(!blank);
    CHECK(stats(s).reconnects == 0);
    vw_source_destroy(s);
}

/* ---- hostile HTTP servers on loopback ---------------------------------------------------
 * One thread serving one connection at a time: HTTP/1.0 200, then per mode
 *   ONCE      the whole payload at once, then close (a camera that gives a few frames per
 *             connection and drops it)
 *   TRICKLE   the payload one byte per 10 ms (a link that all but stopped)
 *   GARBAGE   endless random bytes, 64 KiB every 10 ms (not a camera at all) */
enum hostile_mode { HOSTILE_ONCE, HOSTILE_TRICKLE, HOSTILE_GARBAGE };

struct hostile {
    enum hostile_mode mode;
    const unsigned char *data;
    size_t size;
    int lfd, port;
    atomic_bool stop;
    atomic_int connections;
    pthread_t thread;
};

static bool send_some(int fd, const void *p, size_t n)
{
    return send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n;
}

static void *hostile_thread(void *arg)
{
    struct hostile *h = arg;
    unsigned seed = 12345;
    static unsigned char junk[65536];
    while (!atomic_load(&h->stop)) {
        struct pollfd pf = {.fd = h->lfd, .events = POLLIN};
        if (poll(&pf, 1, 100) <= 0)
            continue;
        int fd = accept(h->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        atomic_fetch_add(&h->connections, 1);
        char req[4096];
        (void)!recv(fd, req, sizeof req, 0);
        const char *hdr = "HTTP/1.0 200 OK\r\nContent-Type: video/mp2t\r\n\r\n";
        bool ok = send_some(fd, hdr, strlen(hdr));
        if (h->mode == HOSTILE_ONCE) {
            ok = ok && send_some(fd, h->data, h->size);
        } else if (h->mode == HOSTILE_TRICKLE) {
            for (size_t i = 0; ok && i < h->size && !atomic_load(&h->stop); i++) {
                ok = send_some(fd, h->data + i, 1);
                usleep(10000);
            }
        } else {
            while (ok && !atomic_load(&h->stop)) {
                for (size_t i = 0; i < sizeof junk; i++)
                    junk[i] = (unsigned char)(rand_r(&seed) >> 7);
                ok = send_some(fd, junk, sizeof junk);
                usleep(10000);
            }
        }
        close(fd);
    }
    return NULL;
}

static struct hostile *hostile_start(enum hostile_mode mode, const void *data, size_t size)
{
    struct hostile *h = calloc(1, sizeof *h);
    h->mode = mode;
    h->data = data;
    h->size = size;
    atomic_init(&h->stop, false);
    atomic_init(&h->connections, 0);
    h->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bool ok = h->lfd >= 0 && bind(h->lfd, (struct sockaddr *)&a, sizeof a) == 0 &&
              listen(h->lfd, 16) == 0 && getsockname(h->lfd, (struct sockaddr *)&a, &len) == 0 &&
              pthread_create(&h->thread, NULL, hostile_thread, h) == 0;
    CHECK(ok);
    if (!ok)
        exit(check_summary("test_source"));
    h->port = ntohs(a.sin_port);
    return h;
}

static void hostile_stop(struct hostile *h)
{
    atomic_store(&h->stop, true);
    pthread_join(h->thread, NULL);
    close(h->lfd);
    free(h);
}

/* A temporary folder with MPEG-TS clips made by ffmpeg: fwd.ts (2 s, 25 fps, 320x180) and
 * back.ts (two such clips concatenated, the first with timestamps 20 s later than the
 * second, so they jump backwards in the middle, as a looped recording or a camera's TS
 * dump does). */
static char tsdir[64];

static bool make_ts_clips(void)
{
    if (tsdir[0])
        return true;
    snprintf(tsdir, sizeof tsdir, "/tmp/vwall-ts-XXXXXX");
    if (!mkdtemp(tsdir))
        return false;
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd %s && ffmpeg -v error -y -f lavfi -i testsrc=size=320x180:rate=25 -t 2 "
             "-c:v libx264 -g 25 -output_ts_offset 20 -f mpegts late.ts && "
             "ffmpeg -v error -y -f lavfi -i testsrc=size=320x180:rate=25 -t 2 -c:v libx264 "
             "-g 25 -f mpegts fwd.ts && cat late.ts fwd.ts > back.ts",
             tsdir);
    return system(cmd) == 0;
}

static const char *ts_clip(const char *name)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", tsdir, name);
    return path;
}

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = malloc(1 << 20);
    *size = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    return buf;
}

static void remove_ts_clips(void)
{
    if (!tsdir[0])
        return;
    const char *names[] = {"late.ts", "fwd.ts", "back.ts", "moved.ts"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unlink(ts_clip(names[i]));
    rmdir(tsdir);
}

/* Issue 12 class 5: a looped MPEG-TS whose timestamps jump backwards keeps playing: it
 * never goes offline with "no video frame in the file" at the loop. */
static void test_loop_backwards(void)
{
    CHECK(make_ts_clips());
    struct vw_source *s = start(ts_clip("back.ts"), true, VW_HWACCEL_NONE);
    CHECK(wait_state(s, VW_SOURCE_LIVE, 5));
    bool left_live = false;
    char seen[300] = "";
    for (int64_t end = vw_now_us() + 10000000; vw_now_us() < end; usleep(20000)) {
        vw_source_frame(s, NULL, NULL, 0);
        struct vw_source_stats st = stats(s);
        if (st.state != VW_SOURCE_LIVE && !left_live) {
            left_live = true;
            snprintf(seen, sizeof seen, "%s (%s)", vw_source_state_name(st.state), st.error);
        }
    }
    struct vw_source_stats st = stats(s);
    fprintf(stderr, "  back.ts looped 10 s: %llu frames, %s%s\n",
            (unsigned long long)st.frames_decoded, left_live ? "left live: " : "live throughout",
            seen);
    CHECK(!left_live);
    CHECK(st.frames_decoded > 200); /* 4 s of video at 25 fps: it went round at least twice */
    CHECK(st.error[0] == '\0');
    vw_source_destroy(s);
}

/* Issue 12 class 5: a server that sends a couple of seconds of video per connection and
 * drops it must back off (0.5, 1, 2, 4 s ...), not reconnect every 0.5 s because each
 * connection delivered a frame; the error says the server ended the stream. */
static void test_flapping_backoff(void)
{
    CHECK(make_ts_clips());
    size_t size = 0;
    unsigned char *ts = slurp(ts_clip("fwd.ts"), &size);
    CHECK(ts && size > 1000);
    struct hostile *h = hostile_start(HOSTILE_ONCE, ts, size);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/cam", h->port);
    struct vw_source *s = start(url, false, VW_HWACCEL_NONE);
    int64_t max_backoff = 0;
    for (int64_t end = vw_now_us() + 8000000; vw_now_us() < end; usleep(20000)) {
        vw_source_frame(s, NULL, NULL, 0);
        int64_t b = stats(s).backoff_ms;
        max_backoff = b > max_backoff ? b : max_backoff;
    }
    struct vw_source_stats st = stats(s);
    int conns = atomic_load(&h->connections);
    fprintf(stderr,
            "  one burst per connection, 8 s: %d connections, %d reconnects, "
            "backoff up to %lld ms, %llu frames, last error: %s\n",
            conns, st.reconnects, (long long)max_backoff, (unsigned long long)st.frames_decoded,
            st.error);
    /* Without growth: a connection every ~0.5 s, 16 in 8 s. With it: 0.5+1+2+4 s. */
    CHECK(conns >= 2 && conns <= 6);
    CHECK(max_backoff >= 2000);
    CHECK(st.frames_decoded > 0);
    CHECK(st.state == VW_SOURCE_OFFLINE && strstr(st.error, "the server ended the stream"));
    vw_source_destroy(s);
    hostile_stop(h);
    free(ts);
}

/* Issue 12 class 5: what a failing server did, in words: plenty of bytes that are not
 * video, a trickle, nothing at all. */
static void test_hostile_errors(void)
{
    CHECK(make_ts_clips());
    size_t size = 0;
    unsigned char *ts = slurp(ts_clip("fwd.ts"), &size);
    CHECK(ts != NULL);
    struct {
        enum hostile_mode mode;
        const char *scheme, *want;
    } cases[] = {
        {HOSTILE_GARBAGE, "http", "the stream sends data that is not video"},
        {HOSTILE_TRICKLE, "http", "the server sends too slowly"},
        {HOSTILE_GARBAGE, "rtsp", "not RTSP"},
        {HOSTILE_TRICKLE, "rtsp", "the server answers too slowly"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct hostile *h = hostile_start(cases[i].mode, ts, size);
        char url[64];
        snprintf(url, sizeof url, "%s://127.0.0.1:%d/cam", cases[i].scheme, h->port);
        struct vw_source *s = start(url, false, VW_HWACCEL_NONE);
        CHECK(wait_state(s, VW_SOURCE_OFFLINE, 9));
        struct vw_source_stats st = stats(s);
        fprintf(stderr, "  %s %s: %s\n", cases[i].scheme,
                cases[i].mode == HOSTILE_GARBAGE ? "garbage" : "trickle", st.error);
        CHECK(strstr(st.error, cases[i].want) != NULL ||
              (cases[i].mode == HOSTILE_GARBAGE && strstr(st.error, "not an RTSP answer")));
        CHECK(!strstr(st.error, "Immediate exit") && !strstr(st.error, "no answer"));
        CHECK(destroy_timed(s) < 2.0);
        hostile_stop(h);
    }
    free(ts);
}

/* vw_source_reconnect: at once, make-before-break, the backoff reset; an ended file plays
 * again. */
static void test_reconnect(void)
{
    CHECK(make_ts_clips());
    /* A live file: the picture never goes away, reconnects counts it, it is live again. */
    struct vw_source *s = start(clip("moving.mp4"), true, VW_HWACCEL_NONE);
    CHECK(wait_state(s, VW_SOURCE_LIVE, 5));
    take_for(s, 0.5);
    uint64_t n0 = stats(s).frames_decoded;
    vw_source_reconnect(s);
    bool blank = false;
    for (int64_t end = vw_now_us() + 1500000; vw_now_us() < end; usleep(5000))
        blank |= vw_source_frame(s, NULL, NULL, 0) == NULL;
    struct vw_source_stats st = stats(s);
    fprintf(stderr, "  reconnect of a live file: %s, %d reconnects, %llu new frames\n",
            vw_source_state_name(st.state), st.reconnects,
            (unsigned long long)(st.frames_decoded - n0));
    CHECK(!blank);
    CHECK(st.reconnects == 1);
    CHECK(st.state == VW_SOURCE_LIVE && st.frames_decoded > n0 + 10);
    vw_source_destroy(s);

    /* A missing file in a long backoff: once it exists, reconnect tries at once instead of
     * after the backoff. */
    char moved[128], fwd[128];
    snprintf(moved, sizeof moved, "%s", ts_clip("moved.ts"));
    snprintf(fwd, sizeof fwd, "%s", ts_clip("fwd.ts"));
    unlink(moved);
    s = start(moved, true, VW_HWACCEL_NONE);
    int64_t seen_backoff = 0;
    for (int64_t end = vw_now_us() + 8000000; vw_now_us() < end && seen_backoff < 4000;
         usleep(10000))
        seen_backoff = stats(s).backoff_ms;
    CHECK(seen_backoff >= 4000);
    CHECK(link(fwd, moved) == 0);
    vw_source_reconnect(s);
    int64_t t0 = vw_now_us();
    CHECK(wait_state(s, VW_SOURCE_LIVE, 2.5)); /* the backoff had 4 s to run */
    fprintf(stderr, "  reconnect during a %lld ms backoff: live after %.2f s\n",
            (long long)seen_backoff, (double)(vw_now_us() - t0) / 1e6);
    CHECK(stats(s).backoff_ms == 0);
    vw_source_destroy(s);

    /* A file that ended (no loop) plays again. */
    s = start(ts_clip("fwd.ts"), false, VW_HWACCEL_NONE);
    CHECK(wait_state(s, VW_SOURCE_LIVE, 5));
    CHECK(wait_state(s, VW_SOURCE_OFFLINE, 5));
    n0 = stats(s).frames_decoded;
    vw_source_reconnect(s);
    CHECK(wait_state(s, VW_SOURCE_LIVE, 3));
    take_for(s, 0.5);
    CHECK(stats(s).frames_decoded > n0);
    vw_source_destroy(s);
}

/* tests/rtsp_server.py under Debian's python3; returns its pid and sets *port (0: any). */
static pid_t start_server(int *port)
{
    const char *dir = getenv("VWALL_SOURCE_DIR");
    char script[1024], portarg[16];
    snprintf(script, sizeof script, "%s/tests/rtsp_server.py", dir ? dir : ".");
    snprintf(portarg, sizeof portarg, "%d", *port);
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        close(p[0]);
        close(p[1]);
        execl("/usr/bin/python3", "python3", script, "--port", portarg, "--cams", "0",
              (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char line[128] = "";
    size_t got = 0;
    int64_t end = vw_now_us() + 20000000;
    while (pid > 0 && !strchr(line, '\n') && got < sizeof line - 1 && vw_now_us() < end) {
        struct pollfd pf = {.fd = p[0], .events = POLLIN};
        if (poll(&pf, 1, 200) <= 0)
            continue;
        ssize_t r = read(p[0], line + got, sizeof line - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        line[got] = '\0';
    }
    close(p[0]);
    if (pid < 0 || sscanf(line, "READY %d", port) != 1) {
        fprintf(stderr, "  rtsp_server.py did not start (got \"%s\")\n", line);
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        return -1;
    }
    return pid;
}

static void stop_server(pid_t pid, int sig)
{
    kill(pid, sig);
    waitpid(pid, NULL, 0);
}

static void test_rtsp(void)
{
    int port = 0;
    pid_t pid = start_server(&port);
    CHECK(pid > 0);
    if (pid <= 0)
        return;
    char url264[64], url265[64];
    snprintf(url264, sizeof url264, "rtsp://127.0.0.1:%d/h264", port);
    snprintf(url265, sizeof url265, "rtsp://127.0.0.1:%d/h265", port);

    struct vw_source *h265 = start(url265, false, VW_HWACCEL_NONE);
    struct vw_source *s = start(url264, false, VW_HWACCEL_NONE);
    int64_t t0 = vw_now_us();
    CHECK(wait_state(s, VW_SOURCE_LIVE, 10));
    fprintf(stderr, "  rtsp h264: live after %.2f s\n", (double)(vw_now_us() - t0) / 1e6);
    CHECK(wait_state(h265, VW_SOURCE_LIVE, 10));
    fprintf(stderr, "  rtsp h265: live after %.2f s\n", (double)(vw_now_us() - t0) / 1e6);
    CHECK(stats(h265).width == 320 && stats(h265).height == 180);
    CHECK(destroy_timed(h265) < 1.0);

    /* RTP over UDP instead of TCP-interleaved. */
    struct vw_source_cfg udp_cfg = {
        .id = "udp", .url = url264, .stall_timeout = 2.0, .transport = (char *)"udp"};
    struct vw_source *udp = vw_source_create(&udp_cfg, false, on_wakeup, NULL);
    CHECK(udp && wait_state(udp, VW_SOURCE_LIVE, 10));
    if (udp) {
        take_for(udp, 1.0);
        struct vw_source_stats ust = stats(udp);
        fprintf(stderr, "  rtsp h264 over udp: %s, %.1f fps\n", vw_source_state_name(ust.state),
                ust.fps);
        CHECK(ust.state == VW_SOURCE_LIVE && ust.fps > 15 && ust.width == 320);
        CHECK(destroy_timed(udp) < 1.0);
    }
    take_for(s, 1.0);
    struct vw_source_stats st = stats(s);
    CHECK(st.width == 320 && st.height == 180);
    CHECK(st.fps > 15 && st.fps < 45);
    CHECK(st.reconnects == 0);

    /* The camera dies: stalled or offline, and the last frame stays. */
    stop_server(pid, SIGKILL);
    t0 = vw_now_us();
    bool down = false;
    while (!down && vw_now_us() - t0 < 6000000) {
        vw_source_frame(s, NULL, NULL, 0);
        st = stats(s);
        down = st.state == VW_SOURCE_STALLED || st.state == VW_SOURCE_OFFLINE;
        usleep(20000);
    }
    CHECK(down);
    fprintf(stderr, "  server killed: %s (%s) after %.2f s\n", vw_source_state_name(st.state),
            st.error, (double)(vw_now_us() - t0) / 1e6);
    bool fresh = true;
    const AVFrame *f = vw_source_frame(s, &fresh, NULL, 0);
    CHECK(f != NULL && !fresh);
    CHECK(f && f->width == 320);

    /* Back on the same port: live again within the backoff plus a little, counted. */
    take_for(s, 1.0);
    pid = start_server(&port);
    CHECK(pid > 0);
    t0 = vw_now_us();
    CHECK(wait_state(s, VW_SOURCE_LIVE, 12));
    st = stats(s);
    fprintf(stderr, "  server restarted: live after %.2f s, %d reconnects\n",
            (double)(vw_now_us() - t0) / 1e6, st.reconnects);
    CHECK(st.reconnects >= 1);
    CHECK(st.error[0] == '\0');

    /* The camera freezes with the connection open: stalled after stall_timeout (2 s), the
     * last frame kept; it comes back by itself once the camera answers again. */
    int reconnects = st.reconnects;
    take_for(s, 1.0);
    kill(pid, SIGSTOP);
    t0 = vw_now_us();
    CHECK(wait_state(s, VW_SOURCE_STALLED, 5));
    st = stats(s);
    double stalled_after = (double)(vw_now_us() - t0) / 1e6;
    fprintf(stderr, "  server frozen: stalled (%s) after %.2f s\n", st.error, stalled_after);
    CHECK(stalled_after > 1.5);
    CHECK(strstr(st.error, "no frame for") != NULL);
    take_for(s, 0.5);
    CHECK(stats(s).last_frame_age_ms >= 400);
    f = vw_source_frame(s, &fresh, NULL, 0);
    CHECK(f != NULL && !fresh);
    kill(pid, SIGCONT);
    t0 = vw_now_us();
    CHECK(wait_state(s, VW_SOURCE_LIVE, 12));
    fprintf(stderr, "  server thawed: live after %.2f s\n", (double)(vw_now_us() - t0) / 1e6);
    CHECK(stats(s).reconnects > reconnects);
    CHECK(destroy_timed(s) < 1.0);
    if (pid > 0)
        stop_server(pid, SIGTERM);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    clips = getenv("VWALL_CLIPS");
    if (!clips) {
        fprintf(
            stderr,
            "test_source: set VWALL_CLIPS to the test clips (scripts/make-clips.sh test DIR)\n");
        return 1;
    }
    struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        {"file", test_file},
        {"loop", test_loop},
        {"hevc/601/full range", test_hevc_and_601},
        {"broken inputs", test_broken},
        {"black hole", test_black_hole},
        {"stuck call", test_stuck_call},
        {"hwaccel fallback", test_hwaccel_fallback},
        {"hwaccel device", test_hwaccel_device},
        {"substream and skip", test_substream_and_skip},
        {"rtsp", test_rtsp},
        {"loop backwards", test_loop_backwards},
        {"flapping backoff", test_flapping_backoff},
        {"hostile errors", test_hostile_errors},
        {"reconnect", test_reconnect},
    };
    const char *only = getenv("VWALL_TEST_ONLY");
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (only && !strstr(tests[i].name, only))
            continue;
        int before = check_failed;
        int64_t t0 = vw_now_us();
        tests[i].fn();
        fprintf(stderr, "test_source: %s: %s (%.1f s)\n", tests[i].name,
                check_failed == before ? "ok" : "FAILED", (double)(vw_now_us() - t0) / 1e6);
    }
    remove_ts_clips();
    return check_summary("test_source");
}
