/* control: the JSON control socket. Newline-delimited JSON over Unix and TCP stream
 * sockets; non-blocking, served from the main thread by vw_control_poll so a handler
 * never races the render loop, and no client can stall it. */
#ifndef VW_CONTROL_H
#define VW_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include "base/errors.h"

struct vw_wall;
struct vw_control;

struct vw_config;

/* Listens on each endpoint ("unix:PATH", "tcp:HOST:PORT", "tcp:PORT"), with the socket
 * modes of `cfg` (control.socket_group). Main thread only. NULL with reasons in errs when an
 * endpoint can't be opened (one in use by another wall, say): main.c opens the sockets
 * before any camera. Clients are served once a wall is attached. */
struct vw_control *vw_control_create(const struct vw_config *cfg, const char *const *endpoints,
                                     int n, struct vw_errors *errs);
/* The wall the commands act on (from now on). */
void vw_control_attach(struct vw_control *c, struct vw_wall *w);
void vw_control_destroy(struct vw_control *c); /* NULL ok; closes clients, unlinks sockets */

/* Waits up to timeout_ms for client activity or for `wake_fd` (-1: none) to become
 * readable, serves every ready client (requests → commands → replies), sends pending wall
 * events to subscribers, and returns. */
void vw_control_poll(struct vw_control *c, int timeout_ms, int wake_fd);

int vw_control_client_count(const struct vw_control *c);

/* A second front end served inside vw_control_poll (the browser console): its descriptors
 * are polled with the sockets', it sees every wall event, and it runs requests through the
 * same commands. Main thread only; the hook's functions are called from vw_control_poll. */
struct cJSON;
struct pollfd;
struct vw_session;
struct vw_control_hook {
    void *user;
    /* Returns the hook's descriptors to poll (its array; *n of them) and may lower
     * *timeout_ms (-1: none) when it needs service sooner. */
    struct pollfd *(*prepare)(void *user, int *n, int *timeout_ms);
    /* After the poll: the same array now carries revents. */
    void (*dispatch)(void *user);
    /* Each wall event, before the server frees it (borrowed). */
    void (*event)(void *user, const struct cJSON *ev);
    int (*client_count)(void *user); /* its clients, counted in "status" */
    /* Replies that come later (config.reload reads the wall file on a worker thread), as for
     * the sockets' clients: defer() returns a ticket for the request vw_control_run is running
     * (the hook knows whose it is), and deferred_reply(ticket, reply) hands the reply (owned)
     * over from a later vw_control_poll, once the work is done. The hook answers none of that
     * session's later requests before it. NULL defer: such requests run to the end at once. */
    void *(*defer)(void *user);
    void (*deferred_reply)(void *user, void *ticket, struct cJSON *reply);
};
/* Installs `hook` (copied; NULL removes it). */
void vw_control_set_hook(struct vw_control *c, const struct vw_control_hook *hook);
/* Runs one request line for session `s` with the server's command context, as a socket
 * client's line would run. Returns the reply (caller owns it), or NULL for a blank line or a
 * reply deferred through the hook's defer(). */
struct cJSON *vw_control_run(struct vw_control *c, struct vw_session *s, const char *line,
                             size_t len);

#endif
