/* control: the JSON control socket. Newline-delimited JSON over Unix and TCP stream
 * sockets; non-blocking, served from the main thread by vw_control_poll so a handler
 * never races the render loop, and no client can stall it. */
#ifndef VW_CONTROL_H
#define VW_CONTROL_H

#include <stdbool.h>

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

#endif
