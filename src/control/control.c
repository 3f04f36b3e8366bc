/* control: the socket server. Listeners and clients are non-blocking and served from the
 * main thread by vw_control_poll; the requests themselves go to commands.c.
 *
 * Caps (as Redis does it): a request line holds at most VW_COMMANDS_MAX_LINE bytes (over:
 * "too_large", then the connection closes). Output: a reply is always delivered whole,
 * however large (a source.list of 20,000 cameras); while a client has more than
 * MAX_PENDING_OUTPUT bytes unread, none of its further requests is answered or read (they
 * wait in the socket); a client is dropped only when the events it leaves unread pass
 * MAX_PENDING_OUTPUT. One client is read at most READ_BUDGET bytes and LINES_PER_TURN
 * requests per turn so a flood from one never starves the render loop or the others. Idle
 * clients hold no buffers. */
#define _GNU_SOURCE /* accept4, struct ucred */

#include "control/control.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/commands.h"
#include "model/config.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "wall/wall.h"

#define MAX_CLIENTS 1000
#define MAX_PENDING_OUTPUT (1024 * 1024)
#define READ_BUDGET (256 * 1024)
#define IN_LIMIT (VW_COMMANDS_MAX_LINE + 2) /* the longest line plus "\r\n" */
#define IN_FIRST 4096
#define LINGER_US (2 * 1000000)
#define LINGER_MAX_DISCARD (1024 * 1024)
#define ACCEPTS_PER_TURN 64
#define LINES_PER_TURN 64 /* requests of one client answered per turn; the rest wait */

struct listener {
    int fd;
    bool is_unix;
    char *endpoint; /* as given */
    char *path;     /* Unix: the socket file we created (unlinked on destroy) */
    dev_t dev;
    ino_t ino;
};

enum client_state {
    CLIENT_OPEN,
    CLIENT_CLOSING, /* after a protocol error: flush, shut down writing, discard input */
    CLIENT_DEAD,    /* reaped at the end of the turn */
};

struct client {
    int fd;
    enum client_state state;
    bool eof;           /* the peer finished sending: answer what came, then close */
    bool backlog;       /* complete lines wait in `in` for the next turn */
    bool shut;          /* CLOSING: our side is shut down, lingering */
    int64_t linger_end; /* CLOSING: close by then even if the peer keeps sending */
    size_t discarded;
    struct vw_session session;
    char *in; /* unprocessed input; NULL when empty */
    size_t in_len, in_cap;
    char *out; /* replies and events not yet sent; NULL when empty */
    size_t out_off, out_len, out_cap;
    /* What the unsent output is: runs of replies and of events, each ending at a count of
     * bytes ever queued (sent counts the bytes ever sent). */
    struct run {
        uint64_t end;
        bool event;
    } * runs;
    int run_count, run_cap;
    uint64_t queued, sent;
    uint64_t serial; /* names the client for a deferred reply */
    int waiting;     /* deferred replies owed to it: its later requests wait */
};

struct vw_control {
    struct vw_wall *wall;
    const struct vw_config *start_cfg; /* until a wall is attached: for the socket modes */
    uint64_t next_serial;
    struct client *current; /* the client whose request is being handled */
    struct listener *listeners;
    int listener_count;
    struct client **clients;
    int client_count, client_cap;
    struct pollfd *pfds;
    int pfd_cap;
    int reserve_fd; /* spare descriptor, freed to shed a client when out of descriptors */
    struct vw_control_hook hook; /* a second front end (the console); zero when none */
};

/* ---- clients -------------------------------------------------------------------------- */

static void client_drop(struct client *cl, const char *why)
{
    if (cl->state == CLIENT_DEAD)
        return;
    if (why)
        vw_warn("control: dropping client=%s: %s", cl->session.peer, why);
    cl->state = CLIENT_DEAD;
}

static void client_free(struct client *cl)
{
    if (cl->fd >= 0)
        close(cl->fd);
    vw_session_finish(&cl->session);
    free(cl->in);
    free(cl->out);
    free(cl->runs);
    free(cl);
}

static size_t pending(const struct client *cl)
{
    return cl->out_len - cl->out_off;
}

/* Bytes of events queued and not yet sent. */
static uint64_t unread_events(const struct client *cl)
{
    uint64_t n = 0, start = cl->sent;
    for (int i = 0; i < cl->run_count; i++) {
        const struct run *r = &cl->runs[i];
        if (r->event && r->end > start)
            n += r->end - start;
        if (r->end > start)
            start = r->end;
    }
    return n;
}

/* Queues `n` bytes, a reply or an event. A reply always goes; an event drops the client when
 * the events it leaves unread would pass the cap. */
static void client_queue(struct client *cl, const char *data, size_t n, bool event)
{
    if (cl->state == CLIENT_DEAD)
        return;
    if (event && unread_events(cl) + n > MAX_PENDING_OUTPUT) {
        client_drop(cl, "it does not read its events (1 MiB unread)");
        return;
    }
    if (cl->out_off > 0 && cl->out_len + n > cl->out_cap) {
        memmove(cl->out, cl->out + cl->out_off, pending(cl));
        cl->out_len -= cl->out_off;
        cl->out_off = 0;
    }
    if (cl->out_len + n > cl->out_cap) {
        size_t cap = cl->out_cap ? cl->out_cap : 4096;
        while (cap < cl->out_len + n)
            cap *= 2;
        char *p = realloc(cl->out, cap);
        if (!p) {
            client_drop(cl, "out of memory");
            return;
        }
        cl->out = p;
        cl->out_cap = cap;
    }
    memcpy(cl->out + cl->out_len, data, n);
    cl->out_len += n;
    cl->queued += n;
    if (cl->run_count > 0 && cl->runs[cl->run_count - 1].event == event) {
        cl->runs[cl->run_count - 1].end = cl->queued;
        return;
    }
    if (cl->run_count == cl->run_cap) {
        int cap = cl->run_cap ? cl->run_cap * 2 : 4;
        struct run *p = realloc(cl->runs, sizeof *p * (size_t)cap);
        if (!p) {
            client_drop(cl, "out of memory");
            return;
        }
        cl->runs = p;
        cl->run_cap = cap;
    }
    cl->runs[cl->run_count++] = (struct run){.end = cl->queued, .event = event};
}

/* Whether the client's requests wait: a deferred reply is owed to it, or it has more than
 * the cap unread. */
static bool paused(const struct client *cl)
{
    return cl->waiting > 0 || pending(cl) > MAX_PENDING_OUTPUT;
}

/* Queues `msg` as one line; takes ownership of msg. */
static void client_send_json(struct client *cl, cJSON *msg)
{
    if (!msg) {
        client_drop(cl, "out of memory");
        return;
    }
    char *text = cJSON_PrintUnformatted(msg);
    cJSON_Delete(msg);
    if (!text) {
        client_drop(cl, "out of memory");
        return;
    }
    size_t n = strlen(text);
    text[n] = '\n'; /* the terminating NUL becomes the newline; length n + 1 */
    client_queue(cl, text, n + 1, false);
    free(text);
}

static void client_flush(struct client *cl)
{
    while (cl->state != CLIENT_DEAD && pending(cl) > 0) {
        ssize_t n = send(cl->fd, cl->out + cl->out_off, pending(cl), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            cl->out_off += (size_t)n;
            cl->sent += (uint64_t)n;
            int done = 0;
            while (done < cl->run_count && cl->runs[done].end <= cl->sent)
                done++;
            if (done) {
                memmove(cl->runs, cl->runs + done,
                        sizeof *cl->runs * (size_t)(cl->run_count - done));
                cl->run_count -= done;
            }
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            client_drop(cl, NULL); /* gone */
            return;
        }
    }
    /* Everything went: give big buffers back so an idle client costs nothing. */
    free(cl->out);
    cl->out = NULL;
    cl->out_off = cl->out_len = cl->out_cap = 0;
}

/* ---- serving requests ----------------------------------------------------------------- */

static void reapply_socket_modes(struct vw_control *c);

static void *hook_defer(void *ud)
{
    struct vw_control *c = ud;
    return c->hook.defer(c->hook.user);
}

static void hook_deferred_reply(void *ud, void *ticket, cJSON *reply)
{
    struct vw_control *c = ud;
    reapply_socket_modes(c); /* as deferred_reply: a reload may have changed the group */
    if (c->hook.deferred_reply)
        c->hook.deferred_reply(c->hook.user, ticket, reply);
    else
        cJSON_Delete(reply); /* the console went away meanwhile */
}

/* A request of the console's (a WebSocket session): answered at once, or later through the
 * hook's deferred replies (a reload), like a socket client's. */
cJSON *vw_control_run(struct vw_control *c, struct vw_session *s, const char *line, size_t len)
{
    int clients = vw_control_client_count(c);
    if (c->hook.client_count)
        clients += c->hook.client_count(c->hook.user);
    struct vw_command_ctx ctx = {.wall = c->wall, .clients = clients};
    if (c->hook.defer && c->hook.deferred_reply) {
        ctx.defer = hook_defer;
        ctx.deferred_reply = hook_deferred_reply;
        ctx.defer_ud = c;
    }
    cJSON *reply = vw_commands_handle_line(&ctx, s, line, len);
    if (ctx.reloaded)
        reapply_socket_modes(c);
    return reply;
}

/* A ticket for the reply to the request being handled: the client's serial. */
static void *defer_reply(void *ud)
{
    struct vw_control *c = ud;
    c->current->waiting++;
    return (void *)(uintptr_t)c->current->serial;
}

static void deferred_reply(void *ud, void *ticket, cJSON *reply)
{
    struct vw_control *c = ud;
    uint64_t serial = (uint64_t)(uintptr_t)ticket;
    for (int i = 0; i < c->client_count; i++) {
        struct client *cl = c->clients[i];
        if (cl->serial != serial)
            continue;
        cl->waiting--;
        client_send_json(cl, reply);
        cl->backlog = cl->in_len > 0 && memchr(cl->in, '\n', cl->in_len); /* resume */
        reapply_socket_modes(c); /* a reload is what defers; its group may have changed */
        return;
    }
    cJSON_Delete(reply); /* the client left */
}

static void handle_line(struct vw_control *c, struct client *cl, const char *line, size_t len)
{
    int clients = vw_control_client_count(c);
    if (c->hook.client_count)
        clients += c->hook.client_count(c->hook.user);
    struct vw_command_ctx ctx = {.wall = c->wall,
                                 .clients = clients,
                                 .defer = defer_reply,
                                 .deferred_reply = deferred_reply,
                                 .defer_ud = c};
    c->current = cl;
    cJSON *reply = vw_commands_handle_line(&ctx, &cl->session, line, len);
    c->current = NULL;
    if (reply)
        client_send_json(cl, reply);
    if (ctx.reloaded)
        reapply_socket_modes(c);
}

static void start_closing(struct client *cl)
{
    cl->state = CLIENT_CLOSING;
    cl->linger_end = vw_now_us() + LINGER_US;
    free(cl->in);
    cl->in = NULL;
    cl->in_len = cl->in_cap = 0;
}

/* Answers the complete lines in the input buffer, at most `*lines` of them (counted
 * down); sets cl->backlog when complete lines remain. */
static void process_input(struct vw_control *c, struct client *cl, int *lines)
{
    size_t start = 0;
    cl->backlog = false;
    while (cl->state == CLIENT_OPEN && start < cl->in_len) {
        char *nl = memchr(cl->in + start, '\n', cl->in_len - start);
        if (!nl)
            break;
        if (*lines <= 0 || paused(cl)) {
            cl->backlog = true;
            break;
        }
        size_t len = (size_t)(nl - (cl->in + start));
        handle_line(c, cl, cl->in + start, len);
        start += len + 1;
        --*lines;
    }
    if (cl->state != CLIENT_OPEN)
        return;
    if (start > 0) {
        memmove(cl->in, cl->in + start, cl->in_len - start);
        cl->in_len -= start;
    }
    if (cl->backlog)
        return;
    if (cl->in_len >= IN_LIMIT) {
        char msg[96];
        snprintf(msg, sizeof msg, "a request line may hold at most %d bytes; closing",
                 VW_COMMANDS_MAX_LINE);
        client_send_json(cl, vw_commands_error_reply(NULL, "too_large", msg));
        vw_warn("control: client=%s sent a line over %d bytes; closing", cl->session.peer,
                VW_COMMANDS_MAX_LINE);
        start_closing(cl);
        return;
    }
    if (cl->eof && cl->in_len > 0) {
        /* The last line had no newline: answer it anyway. */
        handle_line(c, cl, cl->in, cl->in_len);
        cl->in_len = 0;
    }
    if (cl->in_len == 0 && cl->in_cap > IN_FIRST) {
        free(cl->in);
        cl->in = NULL;
        cl->in_cap = 0;
    }
}

static void client_linger_read(struct client *cl)
{
    char sink[16384];
    for (;;) {
        ssize_t n = recv(cl->fd, sink, sizeof sink, MSG_DONTWAIT);
        if (n > 0) {
            cl->discarded += (size_t)n;
            if (cl->discarded > LINGER_MAX_DISCARD) {
                client_drop(cl, NULL);
                return;
            }
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            client_drop(cl, NULL); /* EOF or error: done */
            return;
        }
    }
}

static void client_read(struct vw_control *c, struct client *cl)
{
    if (cl->state == CLIENT_CLOSING) {
        client_linger_read(cl);
        return;
    }
    size_t budget = READ_BUDGET;
    int lines = LINES_PER_TURN;
    if (cl->backlog)
        process_input(c, cl, &lines); /* what waited from the last turn comes first */
    while (cl->state == CLIENT_OPEN && !cl->eof && !cl->backlog && budget > 0) {
        if (cl->in_len == cl->in_cap) {
            size_t cap = cl->in_cap ? cl->in_cap * 2 : IN_FIRST;
            if (cap > IN_LIMIT)
                cap = IN_LIMIT;
            if (cap == cl->in_cap) {
                process_input(c, cl, &lines); /* full without a newline: too_large */
                return;
            }
            char *p = realloc(cl->in, cap);
            if (!p) {
                client_drop(cl, "out of memory");
                return;
            }
            cl->in = p;
            cl->in_cap = cap;
        }
        size_t room = cl->in_cap - cl->in_len;
        ssize_t n = recv(cl->fd, cl->in + cl->in_len, room < budget ? room : budget, MSG_DONTWAIT);
        if (n > 0) {
            cl->in_len += (size_t)n;
            budget -= (size_t)n;
            process_input(c, cl, &lines);
        } else if (n == 0) {
            cl->eof = true;
            process_input(c, cl, &lines);
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
        } else {
            client_drop(cl, NULL);
        }
    }
    if (cl->state == CLIENT_OPEN && cl->in_len == 0 && cl->in) {
        free(cl->in);
        cl->in = NULL;
        cl->in_cap = 0;
    }
}

/* ---- events --------------------------------------------------------------------------- */

static bool may_receive(const struct vw_control *c, const struct client *cl)
{
    if (cl->state != CLIENT_OPEN)
        return false;
    if (cl->session.trusted || cl->session.authed)
        return true;
    const struct vw_config *cfg = vw_wall_config(c->wall);
    return !(cfg && ((cfg->control.token && cfg->control.token[0]) || cfg->control.seat_count > 0));
}

static void send_events(struct vw_control *c)
{
    cJSON *ev;
    if (!c->wall)
        return;
    while ((ev = vw_wall_take_event(c->wall))) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(ev, "event");
        const char *event = cJSON_IsString(name) ? name->valuestring : NULL;
        char *text = NULL;
        size_t n = 0;
        for (int i = 0; i < c->client_count; i++) {
            struct client *cl = c->clients[i];
            if (!may_receive(c, cl) || !vw_session_wants(&cl->session, event))
                continue;
            if (!text) {
                text = cJSON_PrintUnformatted(ev);
                if (!text)
                    break;
                n = strlen(text);
                text[n++] = '\n';
            }
            client_queue(cl, text, n, true);
        }
        free(text);
        if (c->hook.event)
            c->hook.event(c->hook.user, ev);
        cJSON_Delete(ev);
    }
}

/* ---- accepting ------------------------------------------------------------------------ */

static void describe_peer(int fd, bool is_unix, char *buf, size_t cap)
{
    if (is_unix) {
        struct ucred cred;
        socklen_t len = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
            snprintf(buf, cap, "unix:pid=%ld,uid=%ld", (long)cred.pid, (long)cred.uid);
        else
            snprintf(buf, cap, "unix:pid=?,uid=?");
        return;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN + 8], port[8];
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0 ||
        getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(buf, cap, "tcp:?");
        return;
    }
    if (ss.ss_family == AF_INET6)
        snprintf(buf, cap, "tcp:[%s]:%s", host, port);
    else
        snprintf(buf, cap, "tcp:%s:%s", host, port);
}

static bool add_client(struct vw_control *c, int fd, bool is_unix)
{
    if (c->client_count == c->client_cap) {
        int cap = c->client_cap ? c->client_cap * 2 : 16;
        struct client **p = realloc(c->clients, (size_t)cap * sizeof *p);
        if (!p)
            return false;
        c->clients = p;
        c->client_cap = cap;
    }
    struct client *cl = calloc(1, sizeof *cl);
    if (!cl)
        return false;
    cl->fd = fd;
    cl->serial = ++c->next_serial;
    char peer[sizeof cl->session.peer];
    describe_peer(fd, is_unix, peer, sizeof peer);
    vw_session_init(&cl->session, peer, is_unix);
    c->clients[c->client_count++] = cl;
    vw_debug("control: client=%s connected", peer);
    return true;
}

static void accept_clients(struct vw_control *c, struct listener *l)
{
    for (int k = 0; k < ACCEPTS_PER_TURN; k++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if ((errno == EMFILE || errno == ENFILE) && c->reserve_fd >= 0) {
                /* Out of descriptors: take the one waiting and close it, rather than have
                 * poll report the listener readable forever. */
                vw_warn("control: out of file descriptors; refusing a client on %s", l->endpoint);
                close(c->reserve_fd);
                fd = accept(l->fd, NULL, NULL);
                if (fd >= 0)
                    close(fd);
                c->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
            } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                vw_warn("control: accept on %s: %s", l->endpoint, strerror(errno));
            }
            return;
        }
        if (vw_control_client_count(c) >= MAX_CLIENTS) {
            static const char busy[] = "{\"ok\":false,\"error\":\"too_many_clients\","
                                       "\"message\":\"the wall serves at most 1000 clients\"}\n";
            (void)!send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            close(fd);
            continue;
        }
        if (!add_client(c, fd, l->is_unix)) {
            close(fd);
            return;
        }
    }
}

/* ---- listeners ------------------------------------------------------------------------ */

/* Sets the Unix socket's group and mode from the wall file's control.socket_group:
 * 0660 with that group, else 0600. */
static bool apply_socket_mode(struct vw_control *c, const struct listener *l,
                              struct vw_errors *errs)
{
    const struct vw_config *cfg = c->wall ? vw_wall_config(c->wall) : c->start_cfg;
    const char *group = cfg ? cfg->control.socket_group : NULL;
    mode_t mode = 0600;
    if (group && group[0]) {
        /* A reloaded file comes with its group looked up by the reload's worker; only the
         * file read at start is looked up here, before the wall runs. */
        long gid = cfg->control.socket_gid;
        if (!cfg->control.socket_gid_known && !vw_config_group_id(group, &gid)) {
            vw_errors_add(errs, "control endpoint '%s': no group '%s' (control.socket_group)",
                          l->endpoint, group);
            return false;
        }
        if (chown(l->path, (uid_t)-1, (gid_t)gid) != 0) {
            vw_errors_add(errs, "control endpoint '%s': can't give the socket to group '%s': %s",
                          l->endpoint, group, strerror(errno));
            return false;
        }
        mode = 0660;
    }
    if (chmod(l->path, mode) != 0) {
        vw_errors_add(errs, "control endpoint '%s': chmod: %s", l->endpoint, strerror(errno));
        return false;
    }
    return true;
}

static void reapply_socket_modes(struct vw_control *c)
{
    struct vw_errors errs;
    vw_errors_init(&errs);
    for (int i = 0; i < c->listener_count; i++)
        if (c->listeners[i].is_unix)
            apply_socket_mode(c, &c->listeners[i], &errs);
    for (int i = 0; i < errs.count; i++)
        vw_warn("%s", errs.msgs[i]);
    vw_errors_finish(&errs);
}

static bool open_unix(struct vw_control *c, struct listener *l, const char *path,
                      struct vw_errors *errs)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (!path[0] || strlen(path) >= sizeof addr.sun_path) {
        vw_errors_add(errs, "control endpoint '%s': the socket path must be 1 to %zu bytes",
                      l->endpoint, sizeof addr.sun_path - 1);
        return false;
    }
    memcpy(addr.sun_path, path, strlen(path) + 1);

    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            vw_errors_add(errs, "control endpoint '%s': %s exists and is not a socket", l->endpoint,
                          path);
            return false;
        }
        /* Remove a stale socket only if nothing answers on it. */
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (probe < 0) {
            vw_errors_add(errs, "control endpoint '%s': socket: %s", l->endpoint, strerror(errno));
            return false;
        }
        int rc = connect(probe, (struct sockaddr *)&addr, sizeof addr);
        int err = errno;
        close(probe);
        if (rc == 0 || err == EAGAIN || err == EINPROGRESS) {
            vw_errors_add(errs, "control endpoint '%s': another program is listening on %s",
                          l->endpoint, path);
            return false;
        }
        if (err != ECONNREFUSED) {
            vw_errors_add(errs, "control endpoint '%s': can't check the old socket %s: %s",
                          l->endpoint, path, strerror(err));
            return false;
        }
        if (unlink(path) != 0) {
            vw_errors_add(errs, "control endpoint '%s': can't remove the stale socket: %s",
                          l->endpoint, strerror(errno));
            return false;
        }
        vw_info("control: removed the stale socket %s", path);
    }

    l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd < 0) {
        vw_errors_add(errs, "control endpoint '%s': socket: %s", l->endpoint, strerror(errno));
        return false;
    }
    /* Nobody else may connect between bind and chmod. */
    mode_t old = umask(0177);
    int rc = bind(l->fd, (struct sockaddr *)&addr, sizeof addr);
    int err = errno;
    umask(old);
    if (rc != 0) {
        vw_errors_add(errs, "control endpoint '%s': bind: %s", l->endpoint, strerror(err));
        return false;
    }
    l->path = strdup(path);
    if (!l->path || stat(path, &st) != 0) {
        vw_errors_add(errs, "control endpoint '%s': the socket vanished", l->endpoint);
        return false;
    }
    l->dev = st.st_dev;
    l->ino = st.st_ino;
    if (!apply_socket_mode(c, l, errs))
        return false;
    if (listen(l->fd, SOMAXCONN) != 0) {
        vw_errors_add(errs, "control endpoint '%s': listen: %s", l->endpoint, strerror(errno));
        return false;
    }
    vw_info("control: listening on unix:%s", path);
    return true;
}

static bool open_tcp(struct listener *l, const char *spec, struct vw_errors *errs)
{
    /* "PORT", "HOST:PORT", "[V6]:PORT" */
    char host[256] = "127.0.0.1";
    const char *port = spec;
    const char *colon = strrchr(spec, ':');
    if (colon) {
        size_t n = (size_t)(colon - spec);
        if (n >= 2 && spec[0] == '[' && spec[n - 1] == ']') {
            spec++;
            n -= 2;
        }
        if (n >= sizeof host) {
            vw_errors_add(errs, "control endpoint '%s': host name too long", l->endpoint);
            return false;
        }
        if (n > 0) {
            memcpy(host, spec, n);
            host[n] = '\0';
        }
        port = colon + 1;
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (!port[0] || *end || p < 0 || p > 65535) {
        vw_errors_add(errs,
                      "control endpoint '%s': expected tcp:PORT or tcp:HOST:PORT with a "
                      "port from 0 to 65535",
                      l->endpoint);
        return false;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        vw_errors_add(errs, "control endpoint '%s': %s: %s", l->endpoint, host, gai_strerror(rc));
        return false;
    }
    int err = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
            err = errno;
            close(fd);
            continue;
        }
        l->fd = fd;
        break;
    }
    freeaddrinfo(res);
    if (l->fd < 0) {
        vw_errors_add(errs, "control endpoint '%s': can't listen: %s", l->endpoint,
                      strerror(err ? err : EADDRNOTAVAIL));
        return false;
    }
    struct sockaddr_storage ss = {0};
    socklen_t len = sizeof ss;
    char shost[NI_MAXHOST] = "?", sport[NI_MAXSERV] = "?";
    if (getsockname(l->fd, (struct sockaddr *)&ss, &len) == 0)
        getnameinfo((struct sockaddr *)&ss, len, shost, sizeof shost, sport, sizeof sport,
                    NI_NUMERICHOST | NI_NUMERICSERV);
    vw_info("control: listening on tcp:%s%s%s:%s", ss.ss_family == AF_INET6 ? "[" : "", shost,
            ss.ss_family == AF_INET6 ? "]" : "", sport);
    return true;
}

static void listener_close(struct listener *l)
{
    if (l->fd >= 0)
        close(l->fd);
    if (l->path) {
        /* Unlink only the socket we made, not one a later vwall put there. */
        struct stat st;
        if (lstat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
            unlink(l->path);
        free(l->path);
    }
    free(l->endpoint);
}

static bool open_endpoint(struct vw_control *c, const char *endpoint, struct vw_errors *errs)
{
    struct listener *l = &c->listeners[c->listener_count];
    memset(l, 0, sizeof *l);
    l->fd = -1;
    l->endpoint = strdup(endpoint ? endpoint : "");
    if (!l->endpoint)
        abort();
    bool ok;
    if (strncmp(l->endpoint, "unix:", 5) == 0) {
        l->is_unix = true;
        ok = open_unix(c, l, l->endpoint + 5, errs);
    } else if (strncmp(l->endpoint, "tcp:", 4) == 0) {
        ok = open_tcp(l, l->endpoint + 4, errs);
    } else {
        vw_errors_add(errs, "control endpoint '%s': expected unix:PATH, tcp:HOST:PORT or tcp:PORT",
                      l->endpoint);
        ok = false;
    }
    if (!ok) {
        listener_close(l); /* removes the socket file when we made it */
        return false;
    }
    c->listener_count++;
    return true;
}

/* ---- public --------------------------------------------------------------------------- */

struct vw_control *vw_control_create(const struct vw_config *cfg, const char *const *endpoints,
                                     int n, struct vw_errors *errs)
{
    struct vw_control *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->start_cfg = cfg;
    c->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    c->listeners = calloc(n > 0 ? (size_t)n : 1, sizeof *c->listeners);
    if (!c->listeners) {
        free(c);
        return NULL;
    }
    bool ok = true;
    for (int i = 0; i < n; i++)
        ok &= open_endpoint(c, endpoints[i], errs);
    if (!ok) {
        vw_control_destroy(c);
        return NULL;
    }
    return c;
}

void vw_control_destroy(struct vw_control *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->client_count; i++) {
        client_flush(c->clients[i]); /* a last best-effort write */
        client_free(c->clients[i]);
    }
    free(c->clients);
    for (int i = 0; i < c->listener_count; i++)
        listener_close(&c->listeners[i]);
    free(c->listeners);
    free(c->pfds);
    if (c->reserve_fd >= 0)
        close(c->reserve_fd);
    free(c);
}

void vw_control_attach(struct vw_control *c, struct vw_wall *w)
{
    c->wall = w;
    c->start_cfg = NULL;
}

void vw_control_set_hook(struct vw_control *c, const struct vw_control_hook *hook)
{
    if (hook)
        c->hook = *hook;
    else
        memset(&c->hook, 0, sizeof c->hook);
}

int vw_control_client_count(const struct vw_control *c)
{
    int n = 0;
    for (int i = 0; i < c->client_count; i++)
        n += c->clients[i]->state != CLIENT_DEAD;
    return n;
}

/* Closes what is finished: dead clients, closing ones done lingering, clients whose peer
 * finished sending once their replies went out. */
static void reap(struct vw_control *c)
{
    int64_t now = vw_now_us();
    int kept = 0;
    for (int i = 0; i < c->client_count; i++) {
        struct client *cl = c->clients[i];
        if (cl->state == CLIENT_CLOSING && pending(cl) == 0 && !cl->shut) {
            shutdown(cl->fd, SHUT_WR);
            cl->shut = true;
        }
        if (cl->state == CLIENT_CLOSING && now >= cl->linger_end)
            cl->state = CLIENT_DEAD;
        if (cl->state == CLIENT_OPEN && cl->eof && !cl->backlog && pending(cl) == 0 &&
            cl->waiting == 0)
            cl->state = CLIENT_DEAD;
        if (cl->state == CLIENT_DEAD) {
            vw_debug("control: client=%s closed", cl->session.peer);
            client_free(cl);
            continue;
        }
        c->clients[kept++] = cl;
    }
    c->client_count = kept;
}

static bool ensure_pfds(struct vw_control *c, int n)
{
    if (n <= c->pfd_cap)
        return true;
    int cap = c->pfd_cap ? c->pfd_cap : 32;
    while (cap < n)
        cap *= 2;
    struct pollfd *p = realloc(c->pfds, (size_t)cap * sizeof *p);
    if (!p)
        return false;
    c->pfds = p;
    c->pfd_cap = cap;
    return true;
}

void vw_control_poll(struct vw_control *c, int timeout_ms, int wake_fd)
{
    send_events(c); /* what the last tick produced */
    for (int i = 0; i < c->client_count; i++)
        client_flush(c->clients[i]);
    reap(c);

    int nl = c->listener_count, nc = c->client_count, nh = 0;
    struct pollfd *hook_fds = NULL;
    if (c->hook.prepare)
        hook_fds = c->hook.prepare(c->hook.user, &nh, &timeout_ms);
    if (!hook_fds)
        nh = 0;
    if (!ensure_pfds(c, nl + 1 + nc + nh)) {
        vw_err("control: out of memory");
        return;
    }
    struct pollfd *pl = c->pfds, *pw = pl + nl, *pc = pw + 1;
    for (int i = 0; i < nl; i++)
        pl[i] = (struct pollfd){.fd = c->listeners[i].fd, .events = POLLIN};
    *pw = (struct pollfd){.fd = wake_fd, .events = POLLIN}; /* fd -1 is ignored by poll */
    int64_t now = vw_now_us();
    for (int i = 0; i < nc; i++) {
        struct client *cl = c->clients[i];
        short ev = 0;
        if (cl->state == CLIENT_OPEN && !cl->eof && !paused(cl))
            ev |= POLLIN;
        if (cl->state == CLIENT_CLOSING && cl->shut)
            ev |= POLLIN;
        if (pending(cl) > 0)
            ev |= POLLOUT;
        if (cl->state == CLIENT_OPEN && cl->backlog && !paused(cl))
            timeout_ms = 0;
        if (cl->state == CLIENT_CLOSING) {
            int left_ms = (int)((cl->linger_end - now) / 1000) + 1;
            if (timeout_ms < 0 || left_ms < timeout_ms)
                timeout_ms = left_ms < 0 ? 0 : left_ms;
        }
        pc[i] = (struct pollfd){.fd = cl->fd, .events = ev};
    }
    struct pollfd *ph = pc + nc;
    for (int i = 0; i < nh; i++)
        ph[i] = (struct pollfd){.fd = hook_fds[i].fd, .events = hook_fds[i].events};
    int ready = poll(c->pfds, (nfds_t)(nl + 1 + nc + nh), timeout_ms);
    if (ready < 0) {
        if (errno != EINTR)
            vw_warn("control: poll: %s", strerror(errno));
        for (int i = 0; i < nh; i++)
            hook_fds[i].revents = 0;
        if (c->hook.dispatch)
            c->hook.dispatch(c->hook.user);
        return;
    }
    for (int i = 0; i < nh; i++)
        hook_fds[i].revents = ph[i].revents;
    if (c->hook.dispatch)
        c->hook.dispatch(c->hook.user); /* before the events below, so they reach it too */
    /* revents are 0 where nothing happened (also when poll returned 0); clients with a
     * backlog are served regardless. */
    for (int i = 0; i < nc; i++) {
        struct client *cl = c->clients[i];
        short re = pc[i].revents;
        if ((re & (POLLIN | POLLHUP | POLLERR)) ||
            (cl->state == CLIENT_OPEN && cl->backlog && !paused(cl)))
            client_read(c, cl);
        if (re & POLLOUT)
            client_flush(cl);
        if (re & POLLNVAL)
            client_drop(cl, NULL);
    }
    for (int i = 0; i < nl; i++)
        if (pl[i].revents & POLLIN)
            accept_clients(c, &c->listeners[i]);
    send_events(c); /* what the handlers caused */
    for (int i = 0; i < c->client_count; i++)
        client_flush(c->clients[i]);
    reap(c);
}
