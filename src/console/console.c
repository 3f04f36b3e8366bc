/* console: HTTP + WebSocket for the browser console, on libwebsockets.
 *
 * Debian builds libwebsockets without LWS_WITH_EXTERNAL_POLL, so lws runs on a foreign
 * glib loop (LWS_SERVER_OPTION_GLIB) whose GMainContext we never run ourselves: the
 * control server's hook asks it for its descriptors and timeout (g_main_context_prepare +
 * query), polls them with the sockets', and hands the results back (check + dispatch).
 * That is glib's documented way to live inside another poll loop, and it keeps lws on the
 * main thread.
 *
 * Caps: a WebSocket message holds at most VW_COMMANDS_MAX_LINE bytes (over: "too_large",
 * then the connection closes); a connection's unsent output at most MAX_PENDING bytes
 * (over: dropped, like a socket client that does not read); at most MAX_WS connections. */
#define _GNU_SOURCE

#include "console/console.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <glib.h>
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <libwebsockets.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "control/commands.h"
#include "control/control.h"
#include "model/config.h"
#include "wall/wall.h"

#ifndef VWALL_SOURCE_DIR
#define VWALL_SOURCE_DIR "."
#endif

#define MAX_WS 256
#define MAX_PENDING (16 * 1024 * 1024)
#define SNAPSHOT_MIN_US 300000 /* the wall is drawn for /wall.jpg at most ~3 times a second */
#define SNAPSHOT_DEFAULT_W 960
#define SNAPSHOT_MAX_W 3840
#define MAX_LOGIN_DELAY_US (8 * 1000000)
#define TICKET_LEN 32
#define FAIL_HOSTS 64                    /* addresses whose failed logins are remembered */
#define FAIL_FORGET_US (600LL * 1000000) /* for ten minutes after their last one */

struct msg {
    struct msg *next;
    size_t len;
    unsigned char data[]; /* LWS_PRE bytes of headroom, then len bytes */
};

/* Per connection (lws's per-session data, zeroed by lws). */
struct conn {
    struct vw_console *con;
    struct lws *wsi;
    /* WebSocket */
    bool ws;
    struct vw_session session;
    char *in; /* the message being received */
    size_t in_len;
    bool overflow;           /* the message passed the cap */
    struct msg *head, *tail; /* unsent messages */
    size_t pending;
    int failures;  /* failed logins on this connection */
    bool dropping; /* too much unsent: being closed */
    char ip[INET6_ADDRSTRLEN];
    cJSON *held;     /* the answer to a failed login, sent when its delay ends */
    uint64_t serial; /* names the connection for a deferred reply */
    int waiting;     /* deferred replies owed to it (a reload): it reads nothing meanwhile */
    char ticket[TICKET_LEN + 1];
    /* HTTP */
    unsigned char *body; /* LWS_PRE headroom, then body_len bytes */
    size_t body_len, body_off;
};

/* The JPEG encoder and converter, kept from one picture to the next (same size). */
struct jpeg_enc {
    int w, h; /* of the RGBA input = the JPEG */
    AVCodecContext *cc;
    struct SwsContext *sws;
    AVFrame *frame;
    AVPacket *pkt;
};

/* Failed logins by address, so that reconnecting does not reset the delay. */
struct fail_host {
    char ip[INET6_ADDRSTRLEN];
    int failures;
    int64_t last;
};

struct vw_console {
    struct vw_wall *wall;
    struct vw_control *ctl;
    struct lws_context *lws;
    GMainContext *gctx;
    GMainLoop *loop;
    gint prio;
    GPollFD *gfds;
    int gfd_cap, gfd_count;
    struct pollfd *pfds;
    int pfd_cap;
    char assets[4096];
    struct lws_http_mount mounts[4];
    struct lws_protocols protocols[2];
    struct conn *ws[MAX_WS];
    int ws_count;
    uint64_t next_serial;
    struct conn *current; /* the connection whose request is being run */
    /* /wall.jpg cache */
    struct jpeg_enc enc;
    unsigned char *jpg; /* LWS_PRE headroom, then jpg_len bytes */
    size_t jpg_len;
    int64_t jpg_at;
    uint64_t snapshots, scene_changes;
    struct fail_host fails[FAIL_HOSTS];
};

/* ---- helpers ----------------------------------------------------------------------------- */

/* Whether the wall asks for a token: control.token or control.seats is set. */
static bool configured_token(const struct vw_console *con)
{
    const struct vw_config *cfg = vw_wall_config(con->wall);
    return cfg && ((cfg->control.token && cfg->control.token[0]) || cfg->control.seat_count > 0);
}

static bool same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;
    for (size_t i = 0; i < la; i++)
        d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return d == 0;
}

static bool is_loopback(const char *host)
{
    return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
           strcmp(host, "::1") == 0;
}

/* "HOST:PORT", "[V6]:PORT", "PORT" → host (default 127.0.0.1) and port. */
static bool parse_listen(const char *spec, char *host, size_t cap, int *port)
{
    snprintf(host, cap, "127.0.0.1");
    const char *p = spec, *colon = strrchr(spec, ':');
    if (colon) {
        size_t n = (size_t)(colon - spec);
        const char *h = spec;
        if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
            h++;
            n -= 2;
        }
        if (n == 0 || n >= cap)
            return false;
        memcpy(host, h, n);
        host[n] = '\0';
        p = colon + 1;
    }
    char *end;
    long v = strtol(p, &end, 10);
    if (!p[0] || *end || v < 1 || v > 65535)
        return false;
    *port = (int)v;
    return true;
}

static void new_ticket(char *out)
{
    unsigned char raw[TICKET_LEN / 2];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        abort(); /* no randomness: no safe ticket */
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

/* ---- WebSocket output ------------------------------------------------------------------ */

static void conn_queue_text(struct conn *c, const char *text, size_t n)
{
    if (c->dropping)
        return;
    if (c->pending + n > MAX_PENDING) {
        c->dropping = true;
        vw_warn("console: dropping client=%s: it does not read its messages (%d MiB unsent)",
                c->session.peer, MAX_PENDING >> 20);
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        return;
    }
    struct msg *m = malloc(sizeof *m + LWS_PRE + n);
    if (!m)
        return;
    m->next = NULL;
    m->len = n;
    memcpy(m->data + LWS_PRE, text, n);
    if (c->tail)
        c->tail->next = m;
    else
        c->head = m;
    c->tail = m;
    c->pending += n;
    lws_callback_on_writable(c->wsi);
}

static void conn_queue_json(struct conn *c, cJSON *msg) /* takes msg */
{
    if (!msg)
        return;
    char *text = cJSON_PrintUnformatted(msg);
    cJSON_Delete(msg);
    if (text)
        conn_queue_text(c, text, strlen(text));
    free(text);
}

static void conn_free_ws(struct vw_console *con, struct conn *c)
{
    for (int i = 0; i < con->ws_count; i++)
        if (con->ws[i] == c) {
            con->ws[i] = con->ws[--con->ws_count];
            break;
        }
    for (struct msg *m = c->head, *next; m; m = next) {
        next = m->next;
        free(m);
    }
    c->head = c->tail = NULL;
    free(c->in);
    c->in = NULL;
    cJSON_Delete(c->held);
    c->held = NULL;
    vw_session_finish(&c->session);
    c->ws = false;
}

static bool may_receive(const struct vw_console *con, const struct conn *c)
{
    return c->session.authed || !configured_token(con);
}

/* Reads the connection's next messages again, unless an answer is still held back (a failed
 * login's delay) or owed (a reload): replies go out in the order of the requests. */
static void resume_reading(struct conn *c)
{
    if (!c->held && !c->waiting)
        lws_rx_flow_control(c->wsi, 1);
}

/* ---- WebSocket input ------------------------------------------------------------------- */

/* Whether the message is an "auth" request (a login attempt). */
static bool is_login(const char *text, size_t len)
{
    cJSON *o = cJSON_ParseWithLength(text, len);
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(o, "cmd");
    bool yes = cJSON_IsString(cmd) && strcmp(cmd->valuestring, "auth") == 0;
    cJSON_Delete(o);
    return yes;
}

/* Counts a failed login from `ip`; returns that address's recent failures (1 or more). */
static int note_failure(struct vw_console *con, const char *ip)
{
    int64_t now = vw_now_us();
    struct fail_host *slot = &con->fails[0];
    for (int i = 0; i < FAIL_HOSTS; i++) {
        struct fail_host *f = &con->fails[i];
        if (f->failures && now - f->last > FAIL_FORGET_US)
            f->failures = 0;
        if (f->failures && strcmp(f->ip, ip) == 0) {
            slot = f;
            break;
        }
        if (!f->failures || (slot->failures && f->last < slot->last))
            slot = f; /* a free slot, else the oldest */
    }
    if (!slot->failures || strcmp(slot->ip, ip) != 0) {
        snprintf(slot->ip, sizeof slot->ip, "%s", ip);
        slot->failures = 0;
    }
    slot->failures++;
    slot->last = now;
    return slot->failures;
}

static void forget_failures(struct vw_console *con, const char *ip)
{
    for (int i = 0; i < FAIL_HOSTS; i++)
        if (con->fails[i].failures && strcmp(con->fails[i].ip, ip) == 0)
            con->fails[i].failures = 0;
}

static void handle_message(struct vw_console *con, struct conn *c)
{
    bool was_authed = c->session.authed;
    con->current = c;
    cJSON *reply = vw_control_run(con->ctl, &c->session, c->in ? c->in : "", c->in_len);
    con->current = NULL;
    if (!reply)
        return;
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(reply, "error");
    if (cJSON_IsString(err) && strcmp(err->valuestring, "unauthorized") == 0 &&
        is_login(c->in, c->in_len)) {
        /* A wrong token: answer late, and later each time from the same address (a new
         * connection does not start afresh), reading nothing from this one meanwhile. */
        c->failures++;
        int n = note_failure(con, c->ip);
        if (n < c->failures)
            n = c->failures;
        int64_t delay = 500000LL << (n < 5 ? n - 1 : 4);
        if (delay > MAX_LOGIN_DELAY_US)
            delay = MAX_LOGIN_DELAY_US;
        vw_warn("console: failed login from client=%s (%d from %s lately); answered in %.1f s",
                c->session.peer, n, c->ip, delay / 1e6);
        cJSON_Delete(c->held);
        c->held = reply;
        lws_rx_flow_control(c->wsi, 0);
        lws_set_timer_usecs(c->wsi, delay);
        return;
    }
    conn_queue_json(c, reply);
    if (!was_authed && c->session.authed) {
        c->failures = 0;
        forget_failures(con, c->ip);
        new_ticket(c->ticket);
        cJSON *hello = cJSON_CreateObject();
        cJSON_AddStringToObject(hello, "event", "console.login");
        cJSON_AddStringToObject(hello, "ticket", c->ticket);
        conn_queue_json(c, hello);
        vw_info("console: client=%s logged in", c->session.peer);
    }
}

static int ws_receive(struct vw_console *con, struct conn *c, const void *in, size_t len)
{
    if (!c->overflow) {
        if (c->in_len + len > VW_COMMANDS_MAX_LINE) {
            c->overflow = true;
        } else {
            char *p = realloc(c->in, c->in_len + len + 1);
            if (!p)
                return -1;
            c->in = p;
            memcpy(c->in + c->in_len, in, len);
            c->in_len += len;
            c->in[c->in_len] = '\0';
        }
    }
    if (!lws_is_final_fragment(c->wsi) || lws_remaining_packet_payload(c->wsi) > 0)
        return 0;
    if (c->overflow) {
        char msg[96];
        snprintf(msg, sizeof msg, "a message may hold at most %d bytes; closing",
                 VW_COMMANDS_MAX_LINE);
        vw_warn("console: client=%s sent a message over %d bytes; closing", c->session.peer,
                VW_COMMANDS_MAX_LINE);
        conn_queue_json(c, vw_commands_error_reply(NULL, "too_large", msg));
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, 1);
        free(c->in);
        c->in = NULL;
        c->in_len = 0;
        return 0;
    }
    handle_message(con, c);
    free(c->in);
    c->in = NULL;
    c->in_len = 0;
    return 0;
}

static int ws_writeable(struct conn *c)
{
    struct msg *m = c->head;
    if (!m)
        return 0;
    int n = lws_write(c->wsi, m->data + LWS_PRE, m->len, LWS_WRITE_TEXT);
    if (n < (int)m->len)
        return -1;
    c->head = m->next;
    if (!c->head)
        c->tail = NULL;
    c->pending -= m->len;
    free(m);
    if (c->head)
        lws_callback_on_writable(c->wsi);
    return 0;
}

/* A WebSocket upgrade from a page of another site is refused: the Origin's host:port must
 * be the Host the browser asked. Clients that send no Origin (not browsers) pass. */
static bool origin_ok(struct lws *wsi)
{
    char origin[256] = "", host[256] = "";
    if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) <= 0)
        return true;
    lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST);
    const char *o = strstr(origin, "://");
    o = o ? o + 3 : origin;
    return host[0] && strcasecmp(o, host) == 0;
}

/* "ws:IP:PORT" into buf, the IP into ip (INET6_ADDRSTRLEN bytes). */
/* With no token the console serves loopback only; a page from another name that resolves
 * to this machine (DNS rebinding) must not drive it either: the Host asked must be a
 * loopback address or "localhost". With a token any Host passes (the token guards). */
static bool host_ok(const struct vw_console *con, struct lws *wsi)
{
    if (configured_token(con))
        return true;
    char host[256] = "";
    if (lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) <= 0)
        return false;
    char *h = host;
    if (h[0] == '[') { /* [::1]:8080 */
        char *end = strchr(h, ']');
        if (!end)
            return false;
        *end = '\0';
        h++;
    } else {
        char *colon = strrchr(h, ':');
        if (colon)
            *colon = '\0';
    }
    return strcasecmp(h, "localhost") == 0 || strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0;
}

static void describe_peer(struct lws *wsi, char *buf, size_t cap, char *ip)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int port = 0;
    snprintf(ip, INET6_ADDRSTRLEN, "?");
    if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, ip, INET6_ADDRSTRLEN);
            port = ntohs(a->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, ip, INET6_ADDRSTRLEN);
            port = ntohs(a->sin6_port);
        }
    }
    snprintf(buf, cap, "ws:%s:%d", ip, port);
}

/* ---- /wall.jpg --------------------------------------------------------------------------- */

static void jpeg_enc_finish(struct jpeg_enc *e)
{
    sws_freeContext(e->sws);
    av_packet_free(&e->pkt);
    av_frame_free(&e->frame);
    avcodec_free_context(&e->cc);
    memset(e, 0, sizeof *e);
}

static bool jpeg_enc_ready(struct jpeg_enc *e, int w, int h)
{
    if (e->cc && e->w == w && e->h == h)
        return true;
    jpeg_enc_finish(e);
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    if (!codec || !(e->cc = avcodec_alloc_context3(codec)))
        goto fail;
    e->cc->width = w;
    e->cc->height = h;
    e->cc->pix_fmt = AV_PIX_FMT_YUVJ420P;
    e->cc->time_base = (AVRational){1, 25};
    e->cc->flags |= AV_CODEC_FLAG_QSCALE;
    e->cc->global_quality = FF_QP2LAMBDA * 5;
    if (avcodec_open2(e->cc, codec, NULL) < 0)
        goto fail;
    e->frame = av_frame_alloc();
    e->pkt = av_packet_alloc();
    if (!e->frame || !e->pkt)
        goto fail;
    e->frame->format = AV_PIX_FMT_YUVJ420P;
    e->frame->width = w;
    e->frame->height = h;
    if (av_frame_get_buffer(e->frame, 0) < 0)
        goto fail;
    /* Full-range YUV 4:2:0 (what JPEG wants) without swscale's deprecated YUVJ formats. */
    e->sws = sws_getContext(w, h, AV_PIX_FMT_RGBA, w, h, AV_PIX_FMT_YUV420P, SWS_POINT, NULL, NULL,
                            NULL);
    if (!e->sws)
        goto fail;
    const int *coefs = sws_getCoefficients(SWS_CS_ITU601);
    sws_setColorspaceDetails(e->sws, coefs, 1, coefs, 1, 0, 1 << 16, 1 << 16);
    e->w = w;
    e->h = h;
    return true;
fail:
    jpeg_enc_finish(e);
    return false;
}

/* RGBA rows (w×h, even sizes are not needed) → JPEG with LWS_PRE bytes of headroom, or
 * NULL. */
static unsigned char *encode_jpeg(struct jpeg_enc *e, const uint8_t *rgba, int w, int h,
                                  size_t *out_len)
{
    int ew = w & ~1, eh = h & ~1; /* 4:2:0: the odd last column/row is left out */
    if (ew < 2 || eh < 2 || !jpeg_enc_ready(e, ew, eh))
        return NULL;
    if (av_frame_make_writable(e->frame) < 0)
        return NULL;
    const uint8_t *src[4] = {rgba};
    int stride[4] = {w * 4};
    sws_scale(e->sws, src, stride, 0, eh, e->frame->data, e->frame->linesize);
    e->frame->quality = e->cc->global_quality;
    e->frame->pict_type = AV_PICTURE_TYPE_I;
    e->frame->pts++;
    if (avcodec_send_frame(e->cc, e->frame) < 0 || avcodec_receive_packet(e->cc, e->pkt) < 0)
        return NULL;
    unsigned char *out = malloc(LWS_PRE + (size_t)e->pkt->size);
    if (out) {
        memcpy(out + LWS_PRE, e->pkt->data, (size_t)e->pkt->size);
        *out_len = (size_t)e->pkt->size;
    }
    av_packet_unref(e->pkt);
    return out;
}

/* The newest picture of the wall: the cached one when younger than SNAPSHOT_MIN_US (whatever
 * width it has), else drawn now. NULL when the wall could not be drawn. */
static const unsigned char *wall_jpeg(struct vw_console *con, int width, size_t *len)
{
    int64_t now = vw_now_us();
    if (con->jpg && now - con->jpg_at < SNAPSHOT_MIN_US) {
        *len = con->jpg_len;
        return con->jpg;
    }
    if (width <= 0)
        width = SNAPSHOT_DEFAULT_W;
    if (width > SNAPSHOT_MAX_W)
        width = SNAPSHOT_MAX_W;
    struct vw_errors errs;
    vw_errors_init(&errs);
    int w = 0, h = 0;
    int64_t t0 = vw_now_us();
    /* A cluster node shows the whole wall, assembled from every node's panels (one round
     * behind); until the first is assembled, and on one box, its own drawing. */
    uint8_t *rgba = vw_wall_cluster_picture(con->wall, width, SNAPSHOT_MIN_US, &w, &h);
    if (!rgba)
        rgba = vw_wall_snapshot_scaled(con->wall, width, &w, &h, &errs);
    int64_t t1 = vw_now_us();
    if (!rgba) {
        vw_warn("console: /wall.jpg: %s", vw_errors_first(&errs));
        vw_errors_finish(&errs);
        return con->jpg ? (*len = con->jpg_len, con->jpg) : NULL;
    }
    vw_errors_finish(&errs);
    size_t n = 0;
    unsigned char *jpg = encode_jpeg(&con->enc, rgba, w, h, &n);
    free(rgba);
    vw_debug("console: /wall.jpg %dx%d: drawn in %.1f ms, encoded in %.1f ms", w, h,
             (t1 - t0) / 1e3, (vw_now_us() - t1) / 1e3);
    if (jpg) {
        free(con->jpg);
        con->jpg = jpg;
        con->jpg_len = n;
        con->jpg_at = now;
        con->snapshots++;
    }
    *len = con->jpg_len;
    return con->jpg;
}

/* ---- /metrics ---------------------------------------------------------------------------- */

struct text {
    char *buf;
    size_t len, cap;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(struct text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = t->cap - t->len;
        int n = vsnprintf(t->buf ? t->buf + LWS_PRE + t->len : NULL, t->buf ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (t->buf && (size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap * 2 : 16384;
        while (cap < t->len + (size_t)n + 1)
            cap *= 2;
        char *p = realloc(t->buf, LWS_PRE + cap);
        if (!p)
            abort();
        t->buf = p;
        t->cap = cap;
    }
}

/* A label value: backslash, quote and newline escaped, as the text format wants. */
static void text_label(struct text *t, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\\' || *s == '"')
            text_add(t, "\\%c", *s);
        else if (*s == '\n')
            text_add(t, "\\n");
        else
            text_add(t, "%c", *s);
    }
}

static double num(const cJSON *o, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

static const char *const source_states[] = {"idle",    "connecting", "live",
                                            "stalled", "offline",    NULL};

struct series {
    const char *name, *key, *help, *type;
    double scale;
};

static unsigned char *metrics_text(struct vw_console *con, size_t *len)
{
    struct text t = {0};
    cJSON *st = vw_wall_status_json(con->wall);
    cJSON *src = vw_wall_sources_json(con->wall, NULL, NULL);
    int clients = vw_control_client_count(con->ctl) + con->ws_count;

    text_add(&t, "# HELP vwall_up 1 while the wall runs.\n# TYPE vwall_up gauge\nvwall_up 1\n");
    static const struct series wall_series[] = {
        {"vwall_render_fps", "render_fps", "Wall redraws per second.", "gauge", 1},
        {"vwall_frames_rendered_total", "frames_rendered", "Wall redraws since start.", "counter",
         1},
        {"vwall_frames_dropped_total", "frames_dropped", "Decoded frames never shown.", "counter",
         1},
        {"vwall_latency_p50_seconds", "latency_p50_ms", "Decode to present latency, median.",
         "gauge", 1e-3},
        {"vwall_latency_p99_seconds", "latency_p99_ms", "Decode to present latency, 99th pct.",
         "gauge", 1e-3},
        {"vwall_overloaded", "overloaded", "1 while decoding or drawing falls behind.", "gauge", 1},
        {"vwall_uptime_seconds", "uptime_s", "Seconds since the wall started.", "gauge", 1},
        {NULL, NULL, NULL, NULL, 0},
    };
    for (const struct series *s = wall_series; s->name; s++) {
        double v = num(st, s->key, NAN);
        text_add(&t, "# HELP %s %s\n# TYPE %s %s\n", s->name, s->help, s->name, s->type);
        if (isnan(v))
            text_add(&t, "%s NaN\n", s->name);
        else
            text_add(&t, "%s %.10g\n", s->name, v * s->scale);
    }
    text_add(&t,
             "# HELP vwall_clients Connected control and console clients.\n"
             "# TYPE vwall_clients gauge\nvwall_clients %d\n",
             clients);
    text_add(&t,
             "# HELP vwall_scene_changes_total Scene changes seen since the console started.\n"
             "# TYPE vwall_scene_changes_total counter\nvwall_scene_changes_total %llu\n",
             (unsigned long long)con->scene_changes);
    const cJSON *scene = cJSON_GetObjectItemCaseSensitive(st, "scene");
    const cJSON *base = cJSON_GetObjectItemCaseSensitive(st, "base_scene");
    const cJSON *stack = cJSON_GetObjectItemCaseSensitive(st, "stack");
    text_add(&t, "# HELP vwall_scene_info The scene showing and the base scene.\n"
                 "# TYPE vwall_scene_info gauge\nvwall_scene_info{scene=\"");
    text_label(&t, cJSON_IsString(scene) ? scene->valuestring : "");
    text_add(&t, "\",base_scene=\"");
    text_label(&t, cJSON_IsString(base) ? base->valuestring : "");
    text_add(&t,
             "\"} 1\n# HELP vwall_stack_depth Incident scenes pushed.\n"
             "# TYPE vwall_stack_depth gauge\nvwall_stack_depth %d\n",
             cJSON_GetArraySize(stack));

    static const struct series src_series[] = {
        {"vwall_source_fps", "fps", "Frames decoded per second.", "gauge", 1},
        {"vwall_source_frames_decoded_total", "frames_decoded", "Frames decoded.", "counter", 1},
        {"vwall_source_frames_shown_total", "frames_shown", "Frames shown on the wall.", "counter",
         1},
        {"vwall_source_frames_dropped_total", "frames_late",
         "Frames decoded too late to be shown (dropped).", "counter", 1},
        {"vwall_source_reconnects_total", "reconnects", "Reconnects of the feed.", "counter", 1},
        {"vwall_source_last_frame_age_seconds", "last_frame_age_ms",
         "Seconds since the newest frame (NaN: none yet).", "gauge", 1e-3},
        {NULL, NULL, NULL, NULL, 0},
    };
    text_add(&t, "# HELP vwall_source_state 1 for the state each source is in.\n"
                 "# TYPE vwall_source_state gauge\n");
    const cJSON *s;
    cJSON_ArrayForEach(s, src)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(s, "id");
        const cJSON *state = cJSON_GetObjectItemCaseSensitive(s, "state");
        for (int k = 0; source_states[k]; k++) {
            text_add(&t, "vwall_source_state{source=\"");
            text_label(&t, cJSON_IsString(id) ? id->valuestring : "");
            text_add(&t, "\",state=\"%s\"} %d\n", source_states[k],
                     cJSON_IsString(state) && strcmp(state->valuestring, source_states[k]) == 0);
        }
    }
    for (const struct series *se = src_series; se->name; se++) {
        text_add(&t, "# HELP %s %s\n# TYPE %s %s\n", se->name, se->help, se->name, se->type);
        cJSON_ArrayForEach(s, src)
        {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(s, "id");
            double v = num(s, se->key, NAN);
            text_add(&t, "%s{source=\"", se->name);
            text_label(&t, cJSON_IsString(id) ? id->valuestring : "");
            if (isnan(v))
                text_add(&t, "\"} NaN\n");
            else
                text_add(&t, "\"} %.10g\n", v * se->scale);
        }
    }
    cJSON_Delete(st);
    cJSON_Delete(src);
    *len = t.len;
    return (unsigned char *)t.buf;
}

/* ---- /layout.json ------------------------------------------------------------------------ */

static unsigned char *layout_json(struct vw_console *con, size_t *len)
{
    const struct vw_config *cfg = vw_wall_config(con->wall);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", cfg->name ? cfg->name : "");
    cJSON_AddNumberToObject(o, "columns", cfg->columns);
    cJSON_AddNumberToObject(o, "rows", cfg->rows);
    cJSON_AddNumberToObject(o, "screen_w", cfg->screen_w);
    cJSON_AddNumberToObject(o, "screen_h", cfg->screen_h);
    cJSON_AddNumberToObject(o, "bezel_x", cfg->bezel_x);
    cJSON_AddNumberToObject(o, "bezel_y", cfg->bezel_y);
    cJSON *scenes = cJSON_AddArrayToObject(o, "scenes");
    for (int i = 0; i < cfg->scene_count; i++) {
        const struct vw_scene_cfg *sc = &cfg->scenes[i];
        cJSON *so = cJSON_CreateObject();
        cJSON_AddStringToObject(so, "id", sc->id);
        cJSON_AddStringToObject(so, "name", sc->name);
        cJSON *tiles = cJSON_AddArrayToObject(so, "tiles");
        for (int k = 0; k < sc->tile_count; k++) {
            const struct vw_tile_cfg *tc = &sc->tiles[k];
            cJSON *to = cJSON_CreateObject();
            cJSON_AddNumberToObject(to, "index", k);
            if (tc->id)
                cJSON_AddStringToObject(to, "id", tc->id);
            else
                cJSON_AddNullToObject(to, "id");
            const double r[4] = {tc->rect.x, tc->rect.y, tc->rect.w, tc->rect.h};
            cJSON_AddItemToObject(to, "rect", cJSON_CreateDoubleArray(r, 4));
            const struct vw_source_cfg *src = &cfg->sources[tc->source];
            cJSON_AddStringToObject(to, "source", src->id);
            cJSON_AddStringToObject(to, "name", src->name);
            cJSON_AddItemToArray(tiles, to);
        }
        cJSON_AddItemToArray(scenes, so);
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    unsigned char *out = malloc(LWS_PRE + n);
    if (out)
        memcpy(out + LWS_PRE, text, n);
    free(text);
    *len = n;
    return out;
}

/* ---- HTTP ---------------------------------------------------------------------------------- */

static bool ticket_ok(struct vw_console *con, struct lws *wsi)
{
    if (!configured_token(con))
        return true;
    char buf[TICKET_LEN + 16] = "";
    const char *arg = lws_get_urlarg_by_name(wsi, "ticket=", buf, (int)sizeof buf);
    if (!arg || !arg[0])
        return false;
    for (int i = 0; i < con->ws_count; i++)
        if (con->ws[i]->ticket[0] && same_secret(arg, con->ws[i]->ticket))
            return true;
    return false;
}

/* /metrics: "Authorization: Bearer TOKEN" with control.token or any seat's token. */
static bool bearer_ok(struct vw_console *con, struct lws *wsi)
{
    if (!configured_token(con))
        return true;
    const struct vw_config *cfg = vw_wall_config(con->wall);
    char auth[512] = "";
    if (lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION) <= 0 ||
        strncmp(auth, "Bearer ", 7) != 0)
        return false;
    bool ok =
        cfg->control.token && cfg->control.token[0] && same_secret(auth + 7, cfg->control.token);
    for (int i = 0; i < cfg->control.seat_count; i++)
        ok |= same_secret(auth + 7, cfg->control.seats[i].token);
    return ok;
}

/* Sends the headers and starts writing `body` (taken; LWS_PRE headroom). -1: close. */
static int http_respond(struct conn *c, unsigned char *body, size_t len, const char *type)
{
    unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start,
                                       *end = buf + sizeof buf - 1;
    c->body = body;
    c->body_len = len;
    c->body_off = 0;
    if (lws_add_http_common_headers(c->wsi, HTTP_STATUS_OK, type, len, &p, end) ||
        lws_add_http_header_by_name(c->wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(c->wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(c->wsi);
    return 0;
}

static int http_request(struct vw_console *con, struct conn *c)
{
    char uri[256] = "";
    lws_hdr_copy(c->wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
    size_t len = 0;
    unsigned char *body = NULL;
    if (!host_ok(con, c->wsi))
        return lws_return_http_status(c->wsi, HTTP_STATUS_FORBIDDEN, NULL) ||
                       lws_http_transaction_completed(c->wsi)
                   ? -1
                   : 0;
    if (strcmp(uri, "/metrics") == 0) {
        if (!bearer_ok(con, c->wsi)) {
            vw_warn("console: /metrics refused: no or wrong bearer token");
            return lws_return_http_status(c->wsi, HTTP_STATUS_UNAUTHORIZED, NULL) ||
                           lws_http_transaction_completed(c->wsi)
                       ? -1
                       : 0;
        }
        body = metrics_text(con, &len);
        return http_respond(c, body, len, "text/plain; version=0.0.4; charset=utf-8");
    }
    if (strcmp(uri, "/wall.jpg") == 0 || strcmp(uri, "/layout.json") == 0) {
        if (!ticket_ok(con, c->wsi))
            return lws_return_http_status(c->wsi, HTTP_STATUS_FORBIDDEN, NULL) ||
                           lws_http_transaction_completed(c->wsi)
                       ? -1
                       : 0;
        if (uri[1] == 'l') {
            body = layout_json(con, &len);
            if (!body)
                return -1;
            return http_respond(c, body, len, "application/json");
        }
        char buf[32] = "";
        const char *arg = lws_get_urlarg_by_name(c->wsi, "width=", buf, (int)sizeof buf);
        int width = arg ? atoi(arg) : 0;
        const unsigned char *jpg = wall_jpeg(con, width, &len);
        if (!jpg)
            return lws_return_http_status(c->wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, NULL) ||
                           lws_http_transaction_completed(c->wsi)
                       ? -1
                       : 0;
        body = malloc(LWS_PRE + len);
        if (!body)
            return -1;
        memcpy(body + LWS_PRE, jpg + LWS_PRE, len);
        return http_respond(c, body, len, "image/jpeg");
    }
    return lws_return_http_status(c->wsi, HTTP_STATUS_NOT_FOUND, NULL) ||
                   lws_http_transaction_completed(c->wsi)
               ? -1
               : 0;
}

static int http_writeable(struct conn *c)
{
    if (!c->body)
        return 0;
    size_t left = c->body_len - c->body_off, n = left > 65536 ? 65536 : left;
    bool last = n == left;
    /* The LWS_PRE bytes before this chunk are headroom or already sent. */
    if (lws_write(c->wsi, c->body + LWS_PRE + c->body_off, n,
                  last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
        return -1;
    c->body_off += n;
    if (!last) {
        lws_callback_on_writable(c->wsi);
        return 0;
    }
    free(c->body);
    c->body = NULL;
    return lws_http_transaction_completed(c->wsi) ? -1 : 0;
}

/* ---- the lws callback ------------------------------------------------------------------- */

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct vw_console *con = lws_context_user(lws_get_context(wsi));
    struct conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        char uri[64] = "";
        lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
        if (strcmp(uri, "/ws") != 0)
            return -1;
        if (!host_ok(con, wsi)) {
            char host[256] = "";
            lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST);
            vw_warn("console: refused a WebSocket for Host '%s': with no control.token only "
                    "a loopback address or localhost",
                    host);
            return -1;
        }
        if (!origin_ok(wsi)) {
            char origin[256] = "";
            lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN);
            vw_warn("console: refused a WebSocket from the foreign origin '%s'", origin);
            return -1;
        }
        if (con->ws_count >= MAX_WS) {
            vw_warn("console: refused a WebSocket: %d connections already", MAX_WS);
            return -1;
        }
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED: {
        memset(c, 0, sizeof *c);
        c->con = con;
        c->wsi = wsi;
        c->ws = true;
        char peer[sizeof c->session.peer];
        describe_peer(wsi, peer, sizeof peer, c->ip);
        vw_session_init(&c->session, peer, false);
        c->serial = ++con->next_serial;
        con->ws[con->ws_count++] = c;
        vw_debug("console: client=%s connected", peer);
        return 0;
    }
    case LWS_CALLBACK_RECEIVE: return c && c->ws ? ws_receive(con, c, in, len) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE: return c && c->ws ? ws_writeable(c) : 0;
    case LWS_CALLBACK_TIMER:
        if (c && c->ws && c->held) {
            conn_queue_json(c, c->held);
            c->held = NULL;
            resume_reading(c);
        }
        return 0;
    case LWS_CALLBACK_CLOSED:
        if (c && c->ws) {
            vw_debug("console: client=%s closed", c->session.peer);
            conn_free_ws(con, c);
        }
        return 0;
    case LWS_CALLBACK_HTTP:
        c->con = con;
        c->wsi = wsi;
        return http_request(con, c);
    case LWS_CALLBACK_HTTP_WRITEABLE: return c ? http_writeable(c) : 0;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (c && !c->ws) {
            free(c->body);
            c->body = NULL;
        }
        break;
    default: break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- the hook --------------------------------------------------------------------------- */

static struct pollfd *hook_prepare(void *user, int *n, int *timeout_ms)
{
    struct vw_console *con = user;
    g_main_context_prepare(con->gctx, &con->prio);
    int timeout = -1;
    int count;
    while ((count = g_main_context_query(con->gctx, con->prio, &timeout, con->gfds, con->gfd_cap)) >
           con->gfd_cap) {
        GPollFD *p = realloc(con->gfds, (size_t)count * sizeof *p);
        if (!p)
            abort();
        con->gfds = p;
        con->gfd_cap = count;
    }
    if (count > con->pfd_cap) {
        struct pollfd *p = realloc(con->pfds, (size_t)count * sizeof *p);
        if (!p)
            abort();
        con->pfds = p;
        con->pfd_cap = count;
    }
    con->gfd_count = count;
    for (int i = 0; i < count; i++)
        con->pfds[i] = (struct pollfd){.fd = con->gfds[i].fd, .events = (short)con->gfds[i].events};
    if (timeout >= 0 && (*timeout_ms < 0 || timeout < *timeout_ms))
        *timeout_ms = timeout;
    *n = count;
    return con->pfds;
}

static void hook_dispatch(void *user)
{
    struct vw_console *con = user;
    for (int i = 0; i < con->gfd_count; i++)
        con->gfds[i].revents = (gushort)con->pfds[i].revents;
    if (g_main_context_check(con->gctx, con->prio, con->gfds, con->gfd_count))
        g_main_context_dispatch(con->gctx);
}

static void hook_event(void *user, const cJSON *ev)
{
    struct vw_console *con = user;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(ev, "event");
    const char *event = cJSON_IsString(name) ? name->valuestring : NULL;
    if (event && strcmp(event, "scene.changed") == 0)
        con->scene_changes++;
    char *text = NULL;
    for (int i = 0; i < con->ws_count; i++) {
        struct conn *c = con->ws[i];
        if (!may_receive(con, c) || !vw_session_wants(&c->session, event))
            continue;
        if (!text && !(text = cJSON_PrintUnformatted(ev)))
            return;
        conn_queue_text(c, text, strlen(text));
    }
    free(text);
}

static int hook_clients(void *user)
{
    return ((struct vw_console *)user)->ws_count;
}

/* A reload's reply comes later: the connection reads nothing until it has it. */
static void *hook_defer(void *user)
{
    struct vw_console *con = user;
    struct conn *c = con->current;
    c->waiting++;
    lws_rx_flow_control(c->wsi, 0);
    return (void *)(uintptr_t)c->serial;
}

static void hook_deferred_reply(void *user, void *ticket, cJSON *reply)
{
    struct vw_console *con = user;
    uint64_t serial = (uint64_t)(uintptr_t)ticket;
    for (int i = 0; i < con->ws_count; i++) {
        struct conn *c = con->ws[i];
        if (c->serial != serial)
            continue;
        c->waiting--;
        conn_queue_json(c, reply);
        resume_reading(c);
        return;
    }
    cJSON_Delete(reply); /* the connection closed meanwhile */
}

/* ---- public ------------------------------------------------------------------------------ */

static void lws_logger(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    if (level & LLL_ERR)
        vw_warn("console: lws: %.*s", (int)n, line);
    else
        vw_debug("console: lws: %.*s", (int)n, line);
}

struct vw_console *vw_console_create(struct vw_wall *w, struct vw_control *ctl,
                                     const struct vw_console_options *opt, struct vw_errors *errs)
{
    char host[256];
    int port = 0;
    if (!opt->listen || !parse_listen(opt->listen, host, sizeof host, &port)) {
        vw_errors_add(errs, "console: '%s': expected HOST:PORT with a port from 1 to 65535",
                      opt->listen ? opt->listen : "");
        return NULL;
    }
    struct vw_console *con = calloc(1, sizeof *con);
    if (!con)
        return NULL;
    con->wall = w;
    con->ctl = ctl;
    if (!configured_token(con) && !is_loopback(host)) {
        vw_errors_add(errs,
                      "console: '%s' is not a loopback address and no control.token is set: "
                      "set a token, or serve the console on 127.0.0.1",
                      opt->listen);
        goto fail;
    }
    if ((opt->cert != NULL) != (opt->key != NULL)) {
        vw_errors_add(errs, "console: TLS wants both control.http_cert and control.http_key");
        goto fail;
    }
    snprintf(con->assets, sizeof con->assets, "%s",
             opt->assets ? opt->assets : VWALL_SOURCE_DIR "/assets/console");

    con->gctx = g_main_context_new();
    con->loop = g_main_loop_new(con->gctx, FALSE);
    g_main_context_acquire(con->gctx);

    con->protocols[0] = (struct lws_protocols){
        .name = "vwall",
        .callback = callback,
        .per_session_data_size = sizeof(struct conn),
        .rx_buffer_size = 0,
    };
    static const char *const dyn[] = {"/metrics", "/wall.jpg", "/layout.json"};
    for (int i = 0; i < 3; i++)
        con->mounts[i] = (struct lws_http_mount){
            .mount_next = &con->mounts[i + 1],
            .mountpoint = dyn[i],
            .mountpoint_len = (unsigned char)strlen(dyn[i]),
            .origin = "vwall",
            .origin_protocol = LWSMPRO_CALLBACK,
        };
    con->mounts[3] = (struct lws_http_mount){
        .mountpoint = "/",
        .mountpoint_len = 1,
        .origin = con->assets,
        .def = "index.html",
        .origin_protocol = LWSMPRO_FILE,
    };

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_logger);
    void *foreign[] = {con->loop};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = port;
    info.iface = host;
    info.protocols = con->protocols;
    info.mounts = &con->mounts[0];
    info.user = con;
    info.foreign_loops = foreign;
    info.options = LWS_SERVER_OPTION_GLIB | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                   LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE |
                   LWS_SERVER_OPTION_DISABLE_IPV6;
    if (strchr(host, ':'))
        info.options &= ~(uint64_t)LWS_SERVER_OPTION_DISABLE_IPV6;
    if (opt->cert) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = opt->cert;
        info.ssl_private_key_filepath = opt->key;
        info.alpn = "http/1.1"; /* WebSockets over HTTP/1.1, as without TLS */
    }
    con->lws = lws_create_context(&info);
    if (!con->lws) {
        vw_errors_add(errs, "console: can't serve on %s (port taken, bad address or TLS files?)",
                      opt->listen);
        goto fail;
    }
    struct vw_control_hook hook = {
        .user = con,
        .prepare = hook_prepare,
        .dispatch = hook_dispatch,
        .event = hook_event,
        .client_count = hook_clients,
        .defer = hook_defer,
        .deferred_reply = hook_deferred_reply,
    };
    vw_control_set_hook(ctl, &hook);
    vw_info("console: serving %s://%s:%d/", opt->cert ? "https" : "http", host, port);
    return con;
fail:
    vw_console_destroy(con);
    return NULL;
}

void vw_console_destroy(struct vw_console *con)
{
    if (!con)
        return;
    if (con->lws) {
        vw_control_set_hook(con->ctl, NULL);
        lws_context_destroy(con->lws);
        /* Let glib finish what the destruction scheduled. */
        for (int i = 0; i < 8 && g_main_context_iteration(con->gctx, FALSE); i++)
            ;
    }
    if (con->loop)
        g_main_loop_unref(con->loop);
    if (con->gctx) {
        g_main_context_release(con->gctx);
        g_main_context_unref(con->gctx);
    }
    free(con->gfds);
    free(con->pfds);
    free(con->jpg);
    jpeg_enc_finish(&con->enc);
    free(con);
}
