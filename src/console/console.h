/* console: the operator console in a browser. HTTP and WebSocket (libwebsockets) served
 * from the wall's main loop through the control server's hook, so it runs on the main
 * thread like the control socket: no second thread, no locks.
 *
 *   /          the console's static files (assets/console/)
 *   /ws        the control protocol, one request, reply or event per text message, each
 *              run through the control server's commands with a session per connection
 *   /wall.jpg  the whole wall as it shows now (?width=N), drawn at most a few times a second
 *   /metrics   Prometheus text format from status and source.list
 *   /layout.json  the wall's panels and each scene's tiles in panel units (for the mimic)
 *
 * With control.token set, /wall.jpg and /layout.json want the ticket a WebSocket gets when
 * it logs in, and /metrics wants "Authorization: Bearer TOKEN". With no token the console
 * serves only on a loopback address. */
#ifndef VW_CONSOLE_H
#define VW_CONSOLE_H

#include "base/errors.h"

struct vw_wall;
struct vw_control;
struct vw_console;

struct vw_console_options {
    const char *listen; /* "HOST:PORT", "[V6]:PORT" or "PORT" (loopback) */
    const char *cert;   /* PEM files for TLS, or NULL: plain HTTP */
    const char *key;
    const char *assets; /* folder of the static files, or NULL: the source tree's */
};

/* Listens and installs itself as `ctl`'s hook (both must outlive it). Main thread only.
 * NULL with the reasons in errs (bad address, port taken, no token on a public address,
 * TLS files unreadable). */
struct vw_console *vw_console_create(struct vw_wall *w, struct vw_control *ctl,
                                     const struct vw_console_options *opt, struct vw_errors *errs);
/* NULL ok; removes the hook and closes every connection. */
void vw_console_destroy(struct vw_console *con);

#endif
