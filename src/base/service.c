#include "base/service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/timeutil.h"

#ifdef VWALL_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

/* Pings come every quarter of WATCHDOG_USEC rather than systemd's suggested half, so that a
 * command that holds the loop for a while (a screenshot of a 6x3 wall of 1080p panels
 * takes ~5 s on llvmpipe) does not cost a restart: the loop may stop for up to three
 * quarters of the period between two pings. */
#define PING_DIVISOR 4

struct vw_service {
    bool active;
    bool ready_sent;
    uint64_t watchdog_usec; /* 0: no watchdog */
    int64_t next_ping_us;   /* when the next WATCHDOG=1 is due */
    uint64_t frames_at_ping;
    bool drew_since_ping; /* a frame drawn, or nothing to draw, since the last ping */
    char status[160];     /* the last STATUS= sent */
};

static void notify(struct vw_service *s, const char *msg)
{
#ifdef VWALL_HAVE_SYSTEMD
    int rc = sd_notify(0, msg);
    if (rc < 0)
        vw_debug("sd_notify(%s): %s", msg, strerror(-rc));
#else
    (void)s;
    (void)msg;
#endif
}

struct vw_service *vw_service_create(void)
{
    struct vw_service *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    const char *sock = getenv("NOTIFY_SOCKET");
    if (!sock || !*sock)
        return s;
#ifdef VWALL_HAVE_SYSTEMD
    s->active = true;
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
        s->watchdog_usec = usec;
    vw_info("service manager: notifying %s%s", sock, s->watchdog_usec ? " (watchdog on)" : "");
#else
    vw_warn("NOTIFY_SOCKET is set but this vwall was built without libsystemd: it will not "
            "report READY, STATUS or WATCHDOG (build with libsystemd-dev)");
#endif
    return s;
}

void vw_service_destroy(struct vw_service *s)
{
    free(s);
}

bool vw_service_active(const struct vw_service *s)
{
    return s && s->active;
}

uint64_t vw_service_watchdog_usec(const struct vw_service *s)
{
    return s ? s->watchdog_usec : 0;
}

void vw_service_status_text(const struct vw_service_view *v, char *buf, int size)
{
    snprintf(buf, (size_t)size, "scene %s, %d/%d camera%s live", v->scene ? v->scene : "?",
             v->cameras_live, v->cameras, v->cameras == 1 ? "" : "s");
}

void vw_service_loop(struct vw_service *s, const struct vw_service_view *v)
{
    if (!s || !s->active)
        return;
    char status[sizeof s->status], msg[sizeof s->status + 16];
    vw_service_status_text(v, status, sizeof status);
    bool status_changed = strcmp(status, s->status) != 0;
    if (status_changed)
        memcpy(s->status, status, sizeof status);

    if (!s->ready_sent) {
        if (v->frames_drawn == 0)
            return; /* not READY before the wall shows */
        snprintf(msg, sizeof msg, "READY=1\nSTATUS=%s", s->status);
        notify(s, msg);
        s->ready_sent = true;
        s->frames_at_ping = v->frames_drawn;
        s->next_ping_us = vw_now_us() + (int64_t)(s->watchdog_usec / PING_DIVISOR);
        vw_info("service manager told: ready, %s", s->status);
        return;
    }
    if (status_changed) {
        snprintf(msg, sizeof msg, "STATUS=%s", s->status);
        notify(s, msg);
    }
    if (!s->watchdog_usec)
        return;
    /* The wall is alive when its frames keep being drawn, or when it has nothing new to
     * draw (a wall of slates with no clock on them draws nothing until something changes). */
    if (v->frames_drawn != s->frames_at_ping || !v->wants_redraw)
        s->drew_since_ping = true;
    int64_t now = vw_now_us();
    if (now < s->next_ping_us)
        return;
    if (s->drew_since_ping) {
        notify(s, "WATCHDOG=1");
        s->drew_since_ping = false;
        s->frames_at_ping = v->frames_drawn;
    }
    s->next_ping_us = now + (int64_t)(s->watchdog_usec / PING_DIVISOR);
}

int vw_service_wait_ms(const struct vw_service *s)
{
    if (!s || !s->active || !s->ready_sent || !s->watchdog_usec)
        return -1;
    int64_t wait = s->next_ping_us - vw_now_us();
    return wait <= 0 ? 0 : (int)((wait + 999) / 1000);
}

void vw_service_stopping(struct vw_service *s, const char *why)
{
    if (!s || !s->active)
        return;
    char msg[256];
    snprintf(msg, sizeof msg, "STOPPING=1\nSTATUS=stopping: %s", why ? why : "asked to");
    notify(s, msg);
}
