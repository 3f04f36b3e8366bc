/* commands: the control protocol's command table and dispatcher.
 *
 * One request line (a JSON object, see docs/control-protocol.md) goes through two steps:
 *   1. vw_commands_parse: JSON → a request naming a command of the table, its arguments
 *      checked against the command's typed argument list. Pure: touches no wall, so the
 *      fuzzer can drive it.
 *   2. vw_commands_handle_line: parse, check the session's rights, run the handler against
 *      the wall, audit state-changing commands, and build the reply object.
 * The table is sorted by name and searched with bsearch. Main thread only (the handlers
 * call into the wall); vw_commands_parse may be called from any thread. */
#ifndef VW_COMMANDS_H
#define VW_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

#include "model/config.h"

struct cJSON;
struct vw_wall;
struct vw_command;

/* Caps on what one request may carry. */
#define VW_COMMANDS_MAX_LINE 65536       /* bytes of one request line, newline excluded */
#define VW_COMMANDS_MAX_SUBSCRIPTIONS 32 /* event names one connection subscribes to */
#define VW_COMMANDS_MAX_NAME 255         /* bytes of a screenshot file name / event name */

/* One connection as the commands see it. The control server owns it (one per client) and
 * initialises it with vw_session_init; the subscribe/auth commands change it. */
struct vw_session {
    char peer[112];    /* "unix:pid=<pid>,uid=<uid>" or "tcp:127.0.0.1:54321": audit + `by` */
    bool trusted;      /* Unix clients: trusted by the socket's file mode, never asked a token */
    bool authed;       /* sent a right token (TCP clients when tokens or seats are set) */
    char seat[64];     /* the seat's name once authed with a seat's token ("admin" for
                          control.token), else "": the `by` of events and the audit's client */
    enum vw_role role; /* what an authed session may do */
    bool all_events;   /* subscribed to "*" */
    char *events[VW_COMMANDS_MAX_SUBSCRIPTIONS]; /* owned copies of subscribed names */
    int event_count;
};

void vw_session_init(struct vw_session *s, const char *peer, bool trusted);
void vw_session_finish(struct vw_session *s); /* frees the subscriptions */
/* Whether the session subscribed to events named `event`. */
bool vw_session_wants(const struct vw_session *s, const char *event);

/* What the handlers may reach beyond the session. Filled by the control server. */
struct vw_command_ctx {
    struct vw_wall *wall;
    int clients;   /* connected clients, for "status" */
    bool reloaded; /* set when a config.reload succeeded (the server re-applies socket modes) */
    /* Replies that come later (config.reload reads the file on a worker thread). defer()
     * returns a ticket for the request being handled; deferred_reply(ticket, reply) sends the
     * reply (owned) to that client, in order: the server answers none of the client's later
     * requests before it. NULL defer: such commands run to the end at once. */
    void *(*defer)(void *ud);
    void (*deferred_reply)(void *ud, void *ticket, struct cJSON *reply);
    void *defer_ud;
};

/* A parsed request. `root` is owned; the other pointers point into it or into the
 * (static) command table. */
struct vw_request {
    struct cJSON *root;           /* the parsed value, NULL on a parse error */
    const struct cJSON *id;       /* the request's "id" exactly as sent (a raw item), or NULL */
    struct cJSON *id_raw;         /* owned: what id points to */
    const struct vw_command *cmd; /* the command, NULL when unknown/absent */
    const char *cmd_name;         /* the "cmd" string as sent, or NULL */
    bool empty;                   /* blank line: no reply is due */
    const char *error;            /* error code when vw_commands_parse failed (static) */
    char message[256];            /* text for a person about `error` */
};

/* Parses one request line (`len` bytes, no newline; need not be NUL-terminated and may
 * hold any bytes) and checks it against the command table: known command, every required
 * argument present, every argument of the right type and range, no unknown argument.
 * true: a valid request in *out. false: out->error is one of "parse_error",
 * "bad_request", "unknown_command", "bad_args" (or out->empty for a blank line), and
 * out->id/out->cmd are set as far as they could be read. Either way call
 * vw_request_finish(out) afterwards. Any thread; touches no wall. */
bool vw_commands_parse(const char *line, size_t len, struct vw_request *out);
void vw_request_finish(struct vw_request *r);

/* Whether command `name` changes state (logged to the audit log); false when unknown. */
bool vw_commands_changes_state(const char *name);
/* The table's names in order (for help and tests); NULL past the end. */
const char *vw_commands_name(int i);

/* Handles one request line from session `s`: parses, checks authorisation and the seat's
 * role, runs the handler, writes the audit line. Returns the reply (caller owns it), or NULL
 * for a blank line or a reply deferred through ctx->defer. Main thread only. */
struct cJSON *vw_commands_handle_line(struct vw_command_ctx *ctx, struct vw_session *s,
                                      const char *line, size_t len);

/* A reply {"id"?, "ok": false, "error": code, "message": message} for errors found outside
 * the dispatcher (the server's "too_large"). Caller owns it. */
struct cJSON *vw_commands_error_reply(const struct cJSON *id, const char *code,
                                      const char *message);

#endif
