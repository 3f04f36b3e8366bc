/* service: what vwall tells its service manager (systemd's sd_notify protocol, through
 * libsystemd when vwall is built with it; without it every call does nothing).
 *
 *   READY=1      once, after the wall's first frame was drawn (vw_service_loop)
 *   STATUS=...   "scene overview, 17/18 cameras live", sent when it changes
 *   WATCHDOG=1   every quarter WATCHDOG_USEC, from the render loop, only while the wall draws
 *                its frames (or has nothing new to draw): a loop that stalls, or one that
 *                runs but no longer gets frames drawn, stops the pings and systemd restarts
 *                the wall (WatchdogSec=)
 *   STOPPING=1   when the wall shuts down
 *
 * Main thread only. The struct takes only plain values, so it knows nothing of the wall:
 * main.c reads them from the wall each turn of the loop. */
#ifndef VW_SERVICE_H
#define VW_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

struct vw_service;

/* What the loop saw on one turn. */
struct vw_service_view {
    uint64_t frames_drawn; /* frames drawn since the start (only grows) */
    bool wants_redraw;     /* the wall has something it has not drawn yet */
    const char *scene;     /* id of the scene showing */
    int cameras_live;      /* sources of the scene showing that are live */
    int cameras;           /* sources of the scene showing */
};

/* Reads NOTIFY_SOCKET and WATCHDOG_USEC (and WATCHDOG_PID) from the environment. Never
 * fails: with no service manager listening, the calls below do nothing. Caller owns it. */
struct vw_service *vw_service_create(void);
void vw_service_destroy(struct vw_service *s); /* NULL ok */

/* Whether a service manager listens (NOTIFY_SOCKET set and vwall built with libsystemd). */
bool vw_service_active(const struct vw_service *s);
/* The watchdog period asked for (WATCHDOG_USEC), 0 when none. */
uint64_t vw_service_watchdog_usec(const struct vw_service *s);

/* One turn of the main loop, after the wall's tick: READY once the first frame is drawn,
 * STATUS when the scene or the live count changed, WATCHDOG when due and the wall drew. */
void vw_service_loop(struct vw_service *s, const struct vw_service_view *v);
/* The longest the loop may sleep before the next watchdog ping is due (ms), or -1: any. */
int vw_service_wait_ms(const struct vw_service *s);
/* STOPPING=1 with a last STATUS. */
void vw_service_stopping(struct vw_service *s, const char *why);

/* The STATUS= text for a view: "scene overview, 17/18 cameras live". */
void vw_service_status_text(const struct vw_service_view *v, char *buf, int size);

#endif
