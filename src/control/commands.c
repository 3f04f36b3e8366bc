#include "control/commands.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/config.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "wall/wall.h"

/* ---- the table's types ---------------------------------------------------------------- */

enum arg_type {
    ARG_ID,       /* non-empty string: a scene or source id */
    ARG_STRING,   /* any string */
    ARG_INT,      /* integral number within [min, max] */
    ARG_NUMBER,   /* finite number within [min, max] */
    ARG_TILE,     /* integral number (index) or non-empty string (tile id) */
    ARG_NAMES,    /* array of 0..VW_COMMANDS_MAX_SUBSCRIPTIONS non-empty strings */
    ARG_FILENAME, /* a plain file name ending in .png: no '/', no "..", no leading '.' */
    ARG_STATES,   /* a source state name, or an array of 1..8 of them */
};

static const char *const arg_type_names[] = {
    [ARG_ID] = "id",
    [ARG_STRING] = "string",
    [ARG_INT] = "integer",
    [ARG_NUMBER] = "number",
    [ARG_TILE] = "tile",
    [ARG_NAMES] = "names",
    [ARG_FILENAME] = "filename",
    [ARG_STATES] = "state or [states]",
};

struct arg_spec {
    const char *name; /* NULL ends the list */
    enum arg_type type;
    bool required;
    double min, max; /* ARG_INT, ARG_NUMBER */
};

#define MAX_ARGS 6

/* One running command: what a handler sees and fills. */
struct call {
    struct vw_command_ctx *ctx;
    struct vw_session *session;
    const cJSON *req; /* the request object; arguments are validated already */
    const cJSON *id;  /* the request's id as sent, or NULL */
    bool deferred;    /* the handler answers later through ctx->deferred_reply */
    cJSON *out;       /* fields of the reply beyond id/ok (error or success) */
    const char *error;
    char message[256];
};

struct vw_command {
    const char *name;
    bool (*handler)(struct call *c);
    struct arg_spec args[MAX_ARGS + 1];
    bool changes_state; /* audited */
    enum vw_role role;  /* the least a seat needs to run it */
    const char *summary;
};

/* ---- small helpers -------------------------------------------------------------------- */

/* Copies at most cap-1 bytes of src into dst without cutting a UTF-8 sequence, so a
 * clipped client string never makes a reply invalid UTF-8. */
static void clip(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void set_message(char *msg, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_message(char *msg, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
}

static bool fail(struct call *c, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(struct call *c, const char *code, const char *fmt, ...)
{
    c->error = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof c->message, fmt, ap);
    va_end(ap);
    return false;
}

/* Strict UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF). */
static bool valid_utf8(const unsigned char *s, size_t n, size_t *bad_at)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
        } else {
            goto bad;
        }
        if (n - i <= need)
            goto bad;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                goto bad;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            goto bad;
        i += need + 1;
    }
    return true;
bad:
    *bad_at = i;
    return false;
}

static bool is_integral(double v, double min, double max)
{
    return isfinite(v) && v == floor(v) && v >= min && v <= max;
}

/* The reason a string is not a plain screenshot file name, or NULL when it is one. */
static const char *bad_filename(const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return "is empty";
    if (n > VW_COMMANDS_MAX_NAME)
        return "is too long";
    if (strchr(s, '/') || strchr(s, '\\'))
        return "must be a plain file name (no '/')";
    if (strstr(s, ".."))
        return "must not contain \"..\"";
    if (s[0] == '.')
        return "must not start with '.'";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7F || (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F))
            return "must not contain control characters (C0, DEL or C1)";
    if (n <= 4 || strcmp(s + n - 4, ".png") != 0)
        return "must end in \".png\"";
    return NULL;
}

/* ---- argument checks (from the table, before any handler) ----------------------------- */

/* The reason `v` doesn't fit `spec`, written into msg; false when it doesn't fit. */
static bool check_arg(const struct arg_spec *spec, const cJSON *v, char *msg, size_t cap)
{
    switch (spec->type) {
    case ARG_ID:
        if (!cJSON_IsString(v) || !v->valuestring[0]) {
            set_message(msg, cap, "\"%s\" must be a non-empty string", spec->name);
            return false;
        }
        return true;
    case ARG_STRING:
        if (!cJSON_IsString(v)) {
            set_message(msg, cap, "\"%s\" must be a string", spec->name);
            return false;
        }
        return true;
    case ARG_INT:
        if (!cJSON_IsNumber(v) || !is_integral(v->valuedouble, spec->min, spec->max)) {
            set_message(msg, cap, "\"%s\" must be an integer from %.0f to %.0f", spec->name,
                        spec->min, spec->max);
            return false;
        }
        return true;
    case ARG_NUMBER:
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < spec->min ||
            v->valuedouble > spec->max) {
            set_message(msg, cap, "\"%s\" must be a number from %g to %g", spec->name, spec->min,
                        spec->max);
            return false;
        }
        return true;
    case ARG_TILE:
        if (cJSON_IsString(v) && v->valuestring[0])
            return true;
        if (cJSON_IsNumber(v) && is_integral(v->valuedouble, INT_MIN, INT_MAX))
            return true;
        set_message(msg, cap, "\"%s\" must be a tile index (integer) or a tile id (string)",
                    spec->name);
        return false;
    case ARG_NAMES: {
        if (!cJSON_IsArray(v)) {
            set_message(msg, cap, "\"%s\" must be an array of names", spec->name);
            return false;
        }
        int n = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, v)
        {
            if (!cJSON_IsString(e) || !e->valuestring[0] ||
                strlen(e->valuestring) > VW_COMMANDS_MAX_NAME) {
                set_message(msg, cap, "\"%s\" must hold non-empty strings of at most %d bytes",
                            spec->name, VW_COMMANDS_MAX_NAME);
                return false;
            }
            if (++n > VW_COMMANDS_MAX_SUBSCRIPTIONS) {
                set_message(msg, cap, "\"%s\" may hold at most %d names", spec->name,
                            VW_COMMANDS_MAX_SUBSCRIPTIONS);
                return false;
            }
        }
        return true;
    }
    case ARG_STATES: {
        const cJSON *e;
        int n = 0;
        if (cJSON_IsString(v))
            return true;
        if (cJSON_IsArray(v)) {
            cJSON_ArrayForEach(e, v)
            {
                if (!cJSON_IsString(e) || ++n > 8)
                    break;
            }
            if (!e && n > 0)
                return true;
        }
        set_message(msg, cap, "\"%s\" must be a state name or an array of 1 to 8 of them",
                    spec->name);
        return false;
    }
    case ARG_FILENAME: {
        if (!cJSON_IsString(v)) {
            set_message(msg, cap, "\"%s\" must be a string", spec->name);
            return false;
        }
        const char *why = bad_filename(v->valuestring);
        if (why) {
            set_message(msg, cap, "\"%s\" %s", spec->name, why);
            return false;
        }
        return true;
    }
    }
    return false;
}

/* ---- handlers ------------------------------------------------------------------------- */

static const char *str_arg(const cJSON *req, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num_arg(const cJSON *req, const char *name, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* Who asked, for events, the state and the audit: the seat's name, else the peer. */
static const char *who(const struct call *c)
{
    return c->session->seat[0] ? c->session->seat : c->session->peer;
}

static void add_scenes_now(struct call *c)
{
    struct vw_wall *w = c->ctx->wall;
    cJSON_AddStringToObject(c->out, "current", vw_wall_showing(w));
    cJSON_AddStringToObject(c->out, "base", vw_wall_base(w));
    cJSON_AddNumberToObject(c->out, "revision", (double)vw_wall_revision(w));
}

/* A failed wall call as the command's error. */
static bool wall_failed(struct call *c, const struct vw_wall_error *e)
{
    return fail(c, e->code ? e->code : "internal_error", "%s", e->message);
}

/* ---- seats ----------------------------------------------------------------------------- */

static const char *const role_names[] = {
    [VW_ROLE_VIEW] = "view", [VW_ROLE_OPERATE] = "operate", [VW_ROLE_ADMIN] = "admin"};

static bool tokens_configured(const struct vw_config *cfg)
{
    return cfg && ((cfg->control.token && cfg->control.token[0]) || cfg->control.seat_count > 0);
}

/* Compares in time that depends only on the lengths. */
static bool same_secret(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    unsigned char d = na != nb;
    for (size_t i = 0; i < na; i++)
        d |= (unsigned char)(a[i] ^ b[nb ? i % nb : 0]);
    return d == 0;
}

static bool cmd_auth(struct call *c)
{
    struct vw_session *s = c->session;
    const struct vw_config *cfg = vw_wall_config(c->ctx->wall);
    const char *token = str_arg(c->req, "token");
    if (!tokens_configured(cfg) || s->trusted) {
        s->authed = true;
        s->role = VW_ROLE_ADMIN;
    } else {
        /* every seat is compared, so the time does not tell which one matched */
        int seat = -1;
        bool admin =
            cfg->control.token && cfg->control.token[0] && same_secret(token, cfg->control.token);
        for (int i = 0; i < cfg->control.seat_count; i++)
            if (same_secret(token, cfg->control.seats[i].token) && seat < 0)
                seat = i;
        if (seat < 0 && !admin) {
            s->authed = false;
            s->seat[0] = '\0';
            s->role = VW_ROLE_VIEW;
            vw_warn("control: client=%s sent a wrong token", s->peer);
            return fail(c, "unauthorized", "wrong token");
        }
        s->authed = true;
        if (seat >= 0) {
            clip(s->seat, sizeof s->seat, cfg->control.seats[seat].name);
            s->role = cfg->control.seats[seat].role;
        } else {
            clip(s->seat, sizeof s->seat, "admin");
            s->role = VW_ROLE_ADMIN;
        }
        vw_info("control: client=%s is seat '%s' (%s)", s->peer, s->seat, role_names[s->role]);
    }
    if (s->seat[0])
        cJSON_AddStringToObject(c->out, "seat", s->seat);
    else
        cJSON_AddNullToObject(c->out, "seat");
    cJSON_AddStringToObject(c->out, "role", role_names[s->role]);
    return true;
}

static bool cmd_help(struct call *c);

static bool cmd_ping(struct call *c)
{
    (void)c;
    return true;
}

/* ---- scenes ---------------------------------------------------------------------------- */

static bool cmd_scene_list(struct call *c)
{
    cJSON *scenes = vw_wall_scenes_json(c->ctx->wall);
    cJSON_AddItemToObject(c->out, "scenes", scenes ? scenes : cJSON_CreateArray());
    add_scenes_now(c);
    return true;
}

static bool cmd_scene_switch(struct call *c)
{
    struct vw_wall_error e;
    if (!vw_wall_switch(c->ctx->wall, str_arg(c->req, "scene"), who(c), &e))
        return wall_failed(c, &e);
    add_scenes_now(c);
    return true;
}

static bool cmd_scene_push(struct call *c)
{
    struct vw_wall_error e;
    double ttl = num_arg(c->req, "ttl", 0);
    int priority = (int)num_arg(c->req, "priority", 0);
    if (!vw_wall_push(c->ctx->wall, str_arg(c->req, "scene"), priority, ttl, who(c), &e))
        return wall_failed(c, &e);
    add_scenes_now(c);
    return true;
}

static bool cmd_scene_pop(struct call *c)
{
    struct vw_wall_error e;
    if (!vw_wall_pop(c->ctx->wall, str_arg(c->req, "scene"), who(c), &e))
        return wall_failed(c, &e);
    add_scenes_now(c);
    return true;
}

static bool cmd_scene_clear(struct call *c)
{
    struct vw_wall_error e;
    if (!vw_wall_clear(c->ctx->wall, who(c), &e))
        return wall_failed(c, &e);
    add_scenes_now(c);
    return true;
}

static bool cmd_scene_save(struct call *c)
{
    struct vw_wall_error e;
    if (!vw_wall_save(c->ctx->wall, str_arg(c->req, "scene"), str_arg(c->req, "name"), who(c), &e))
        return wall_failed(c, &e);
    add_scenes_now(c);
    return true;
}

static bool cmd_scene_delete(struct call *c)
{
    struct vw_wall_error e;
    if (!vw_wall_delete(c->ctx->wall, str_arg(c->req, "scene"), who(c), &e))
        return wall_failed(c, &e);
    add_scenes_now(c);
    return true;
}

/* ---- tiles ----------------------------------------------------------------------------- */

/* The tile argument `name` (validated as ARG_TILE: index or id; "all" where allowed). */
static struct vw_tile_ref tile_arg(const struct call *c, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->req, name);
    if (cJSON_IsString(v))
        return (struct vw_tile_ref){.index = -1, .id = v->valuestring};
    return (struct vw_tile_ref){.index = (int)v->valuedouble};
}

static bool cmd_tile_list(struct call *c)
{
    cJSON *tiles = vw_wall_tiles_json(c->ctx->wall);
    cJSON_AddItemToObject(c->out, "tiles", tiles ? tiles : cJSON_CreateArray());
    add_scenes_now(c);
    return true;
}

static bool cmd_tile_assign(struct call *c)
{
    const char *source = str_arg(c->req, "source"), *url = str_arg(c->req, "url");
    if (!source == !url)
        return fail(c, "bad_args", "tile.assign needs \"source\" (an id) or \"url\", not %s",
                    source ? "both" : "neither");
    if (url && !strstr(url, "://"))
        return fail(c, "bad_args", "\"url\" must be a URL such as rtsp://host/stream");
    struct vw_wall_error e;
    if (!vw_wall_assign(c->ctx->wall, tile_arg(c, "tile"), source, url, str_arg(c->req, "name"),
                        who(c), &e))
        return wall_failed(c, &e);
    cJSON_AddNumberToObject(c->out, "revision", (double)vw_wall_revision(c->ctx->wall));
    return true;
}

static bool cmd_tile_swap(struct call *c)
{
    struct vw_wall_error e;
    if (!vw_wall_swap(c->ctx->wall, tile_arg(c, "a"), tile_arg(c, "b"), who(c), &e))
        return wall_failed(c, &e);
    cJSON_AddNumberToObject(c->out, "revision", (double)vw_wall_revision(c->ctx->wall));
    return true;
}

static bool cmd_tile_reset(struct call *c)
{
    struct vw_tile_ref t = tile_arg(c, "tile");
    if (t.id && strcmp(t.id, "all") == 0)
        t = (struct vw_tile_ref){.all = true};
    struct vw_wall_error e;
    if (!vw_wall_reset(c->ctx->wall, t, who(c), &e))
        return wall_failed(c, &e);
    cJSON_AddNumberToObject(c->out, "revision", (double)vw_wall_revision(c->ctx->wall));
    return true;
}

/* ---- sources --------------------------------------------------------------------------- */

static const char *const state_names[] = {"idle", "connecting", "live", "stalled", "offline"};

/* The bit of a state name, or 0 when it is none. */
static unsigned state_bit(const char *name)
{
    for (unsigned i = 0; i < sizeof state_names / sizeof state_names[0]; i++)
        if (strcmp(name, state_names[i]) == 0)
            return 1u << i;
    return 0;
}

static bool cmd_source_list(struct call *c)
{
    struct vw_source_query q = {
        .query = str_arg(c->req, "query"),
        .group = str_arg(c->req, "group"),
        .offset = (int)num_arg(c->req, "offset", 0),
        .limit = (int)num_arg(c->req, "limit", -1),
    };
    const cJSON *states = cJSON_GetObjectItemCaseSensitive(c->req, "state");
    if (cJSON_IsString(states)) {
        q.states = state_bit(states->valuestring);
        if (!q.states)
            return fail(c, "bad_args",
                        "\"state\" must be one of idle, connecting, live, "
                        "stalled, offline (or a list of them)");
    } else if (states) {
        const cJSON *e;
        cJSON_ArrayForEach(e, states)
        {
            unsigned bit = state_bit(e->valuestring);
            if (!bit)
                return fail(c, "bad_args",
                            "\"state\" must hold idle, connecting, live, stalled "
                            "or offline");
            q.states |= bit;
        }
    }
    int total = 0;
    cJSON *sources = vw_wall_sources_json(c->ctx->wall, &q, &total);
    cJSON_AddItemToObject(c->out, "sources", sources ? sources : cJSON_CreateArray());
    cJSON_AddNumberToObject(c->out, "total", total);
    cJSON_AddNumberToObject(c->out, "offset", q.offset);
    return true;
}

static bool cmd_source_reconnect(struct call *c)
{
    struct vw_wall_error e;
    if (!vw_wall_reconnect(c->ctx->wall, str_arg(c->req, "source"), who(c), &e))
        return wall_failed(c, &e);
    return true;
}

static bool cmd_status(struct call *c)
{
    cJSON *st = vw_wall_status_json(c->ctx->wall);
    if (cJSON_IsObject(st)) {
        while (st->child) {
            cJSON *item = cJSON_DetachItemViaPointer(st, st->child);
            const char *key = item->string;
            if (strcmp(key, "id") == 0 || strcmp(key, "ok") == 0 || strcmp(key, "clients") == 0) {
                cJSON_Delete(item); /* reserved for the reply */
                continue;
            }
            cJSON_AddItemToObject(c->out, key, item);
        }
        cJSON_Delete(st);
    } else if (st) {
        cJSON_AddItemToObject(c->out, "status", st);
    }
    cJSON_AddNumberToObject(c->out, "clients", c->ctx->clients);
    if (c->session->seat[0])
        cJSON_AddStringToObject(c->out, "seat", c->session->seat);
    cJSON_AddStringToObject(c->out, "role", role_names[c->session->role]);
    return true;
}

/* ---- reload ---------------------------------------------------------------------------- */

/* A reload's reply, once the worker thread has read the file (or at once, without one). */
static cJSON *reload_reply(const cJSON *id, bool ok, const struct vw_errors *errs)
{
    if (ok) {
        cJSON *reply = cJSON_CreateObject();
        if (id)
            cJSON_AddItemToObject(reply, "id", cJSON_Duplicate(id, true));
        cJSON_AddTrueToObject(reply, "ok");
        return reply;
    }
    char first[200], msg[256];
    clip(first, sizeof first, errs->count ? errs->msgs[0] : "unknown error");
    snprintf(msg, sizeof msg, "the wall file has %d error%s; the wall keeps the old one: %s",
             errs->count, errs->count == 1 ? "" : "s", first);
    cJSON *reply = vw_commands_error_reply(id, "config_error", msg);
    cJSON *list = cJSON_AddArrayToObject(reply, "errors");
    for (int i = 0; i < errs->count; i++)
        cJSON_AddItemToArray(list, cJSON_CreateString(errs->msgs[i]));
    return reply;
}

struct pending_reload {
    struct vw_command_ctx ctx; /* the server's defer hooks */
    void *ticket;
    cJSON *id;
    char by[128];
};

static void reload_done(void *ud, bool ok, const struct vw_errors *errs)
{
    struct pending_reload *p = ud;
    vw_info("audit: client=%s cmd=config.reload result=%s", p->by, ok ? "ok" : "config_error");
    cJSON *reply = reload_reply(p->id, ok, errs);
    cJSON *nodes = vw_wall_take_reload_nodes(p->ctx.wall); /* a cluster: each node's result */
    if (nodes)
        cJSON_AddItemToObject(reply, "nodes", nodes);
    p->ctx.deferred_reply(p->ctx.defer_ud, p->ticket, reply);
    cJSON_Delete(p->id);
    free(p);
}

/* ---- changes a cluster commits ----------------------------------------------------------- */

static void move_fields(cJSON *to, cJSON *from);

/* A state-changing command on a cluster node: its reply waits for the commit. */
struct pending_commit {
    struct vw_command_ctx ctx;
    void *ticket;
    cJSON *id, *out; /* the request's id; the reply's fields the handler made */
    char by[128];
    const char *cmd;
};

static void commit_cancelled(void *ud)
{
    struct pending_commit *p = ud;
    cJSON_Delete(p->id);
    cJSON_Delete(p->out);
    free(p);
}

static void commit_done(void *ud, const char *error, const char *message, uint64_t revision,
                        int64_t at_ms, const char *showing, const char *base)
{
    struct pending_commit *p = ud;
    vw_info("audit: client=%s cmd=%s result=%s", p->by, p->cmd, error ? error : "ok");
    cJSON *reply;
    if (error) {
        reply = vw_commands_error_reply(p->id, error, message);
    } else {
        reply = cJSON_CreateObject();
        if (p->id)
            cJSON_AddItemToObject(reply, "id", cJSON_Duplicate(p->id, true));
        cJSON_AddTrueToObject(reply, "ok");
        move_fields(reply, p->out); /* and frees it */
        p->out = NULL;
        cJSON_DeleteItemFromObjectCaseSensitive(reply, "revision");
        cJSON_DeleteItemFromObjectCaseSensitive(reply, "at");
        cJSON_AddNumberToObject(reply, "revision", (double)revision);
        cJSON_AddNumberToObject(reply, "at", (double)at_ms);
        /* What the committed change shows, not what showed when the command came. */
        if (cJSON_HasObjectItem(reply, "current") && showing)
            cJSON_ReplaceItemInObjectCaseSensitive(reply, "current", cJSON_CreateString(showing));
        if (cJSON_HasObjectItem(reply, "base") && base)
            cJSON_ReplaceItemInObjectCaseSensitive(reply, "base", cJSON_CreateString(base));
    }
    p->ctx.deferred_reply(p->ctx.defer_ud, p->ticket, reply);
    commit_cancelled(p);
}

static bool cmd_config_reload(struct call *c)
{
    struct vw_command_ctx *ctx = c->ctx;
    if (!ctx->defer) { /* nobody to answer later: read the file on this thread */
        struct vw_errors errs;
        vw_errors_init(&errs);
        bool ok = vw_wall_reload(ctx->wall, &errs);
        if (!ok) {
            cJSON *list = cJSON_AddArrayToObject(c->out, "errors");
            for (int i = 0; i < errs.count; i++)
                cJSON_AddItemToArray(list, cJSON_CreateString(errs.msgs[i]));
            char first[200];
            clip(first, sizeof first, errs.count ? errs.msgs[0] : "unknown error");
            fail(c, "config_error", "the wall file has %d error%s; the wall keeps the old one: %s",
                 errs.count, errs.count == 1 ? "" : "s", first);
        }
        vw_errors_finish(&errs);
        ctx->reloaded = ok;
        return ok;
    }
    struct pending_reload *p = calloc(1, sizeof *p);
    if (!p)
        return fail(c, "internal_error", "out of memory");
    p->ctx = *ctx;
    p->id = c->id ? cJSON_Duplicate(c->id, true) : NULL;
    clip(p->by, sizeof p->by, who(c));
    struct vw_wall_error e;
    if (!vw_wall_reload_start(ctx->wall, reload_done, p, &e)) {
        cJSON_Delete(p->id);
        free(p);
        return wall_failed(c, &e);
    }
    p->ticket = ctx->defer(ctx->defer_ud); /* reload_done runs in a later tick, not before */
    c->deferred = true;
    return true;
}

/* A cluster's whole-wall screenshot, answered when every node sent its panels. */
struct pending_shot {
    struct vw_command_ctx ctx;
    void *ticket;
    cJSON *id;
    char *path;
};

static void shot_done(void *ud, bool ok, const struct vw_errors *errs, const cJSON *missing)
{
    struct pending_shot *p = ud;
    cJSON *reply;
    if (ok) {
        reply = cJSON_CreateObject();
        if (p->id)
            cJSON_AddItemToObject(reply, "id", cJSON_Duplicate(p->id, true));
        cJSON_AddTrueToObject(reply, "ok");
        cJSON_AddStringToObject(reply, "path", p->path);
        cJSON_AddItemToObject(reply, "missing_nodes", cJSON_Duplicate(missing, true));
    } else {
        char why[200];
        clip(why, sizeof why, vw_errors_first(errs));
        reply = vw_commands_error_reply(p->id, "screenshot_failed",
                                        why[0] ? why : "the wall could not write the PNG");
    }
    p->ctx.deferred_reply(p->ctx.defer_ud, p->ticket, reply);
    cJSON_Delete(p->id);
    free(p->path);
    free(p);
}

static bool cmd_screenshot(struct call *c)
{
    const struct vw_config *cfg = vw_wall_config(c->ctx->wall);
    const char *dir = cfg ? cfg->control.screenshot_dir : NULL;
    if (!dir || !dir[0])
        return fail(c, "disabled",
                    "screenshots are off: the wall file sets no "
                    "control.screenshot_dir");
    const char *file = str_arg(c->req, "file");
    size_t n = strlen(dir) + 1 + strlen(file) + 1;
    char *path = malloc(n);
    if (!path)
        return fail(c, "internal_error", "out of memory");
    snprintf(path, n, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", file);

    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        free(path);
        return fail(c, "bad_args", "\"file\" names something that is not a regular file");
    }
    if (vw_wall_node(c->ctx->wall) && c->ctx->defer) { /* the whole wall, from every node */
        struct pending_shot *p = calloc(1, sizeof *p);
        if (!p)
            abort();
        p->ctx = *c->ctx;
        p->id = c->id ? cJSON_Duplicate(c->id, true) : NULL;
        p->path = path;
        if (vw_wall_screenshot_cluster(c->ctx->wall, path, shot_done, p)) {
            p->ticket = c->ctx->defer(c->ctx->defer_ud);
            c->deferred = true;
            return true;
        }
        cJSON_Delete(p->id);
        free(p);
    }
    struct vw_errors errs;
    vw_errors_init(&errs);
    bool ok = vw_wall_screenshot(c->ctx->wall, path, &errs);
    if (!ok) {
        char why[200];
        clip(why, sizeof why, vw_errors_first(&errs));
        fail(c, "screenshot_failed", "%s", why[0] ? why : "the wall could not write the PNG");
    } else {
        cJSON_AddStringToObject(c->out, "path", path);
    }
    vw_errors_finish(&errs);
    free(path);
    return ok;
}

static void add_subscriptions(struct call *c)
{
    const struct vw_session *s = c->session;
    cJSON *list = cJSON_AddArrayToObject(c->out, "events");
    if (s->all_events)
        cJSON_AddItemToArray(list, cJSON_CreateString("*"));
    for (int i = 0; i < s->event_count; i++)
        cJSON_AddItemToArray(list, cJSON_CreateString(s->events[i]));
}

static int find_subscription(const struct vw_session *s, const char *name)
{
    for (int i = 0; i < s->event_count; i++)
        if (strcmp(s->events[i], name) == 0)
            return i;
    return -1;
}

static bool cmd_subscribe(struct call *c)
{
    struct vw_session *s = c->session;
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(c->req, "events");
    if (!names) {
        s->all_events = true;
        add_subscriptions(c);
        return true;
    }
    /* Check the room first so that a failed subscribe changes nothing. */
    int adding = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, names)
    {
        if (strcmp(e->valuestring, "*") != 0 && find_subscription(s, e->valuestring) < 0)
            adding++;
    }
    if (s->event_count + adding > VW_COMMANDS_MAX_SUBSCRIPTIONS)
        return fail(c, "bad_args", "a connection may subscribe to at most %d event names",
                    VW_COMMANDS_MAX_SUBSCRIPTIONS);
    cJSON_ArrayForEach(e, names)
    {
        if (strcmp(e->valuestring, "*") == 0) {
            s->all_events = true;
        } else if (find_subscription(s, e->valuestring) < 0) {
            char *copy = strdup(e->valuestring);
            if (!copy)
                return fail(c, "internal_error", "out of memory");
            s->events[s->event_count++] = copy;
        }
    }
    add_subscriptions(c);
    return true;
}

static bool cmd_unsubscribe(struct call *c)
{
    struct vw_session *s = c->session;
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(c->req, "events");
    if (!names) {
        for (int i = 0; i < s->event_count; i++)
            free(s->events[i]);
        s->event_count = 0;
        s->all_events = false;
    } else {
        const cJSON *e;
        cJSON_ArrayForEach(e, names)
        {
            if (strcmp(e->valuestring, "*") == 0) {
                s->all_events = false;
                continue;
            }
            int i = find_subscription(s, e->valuestring);
            if (i >= 0) {
                free(s->events[i]);
                s->events[i] = s->events[--s->event_count];
            }
        }
    }
    add_subscriptions(c);
    return true;
}

/* ---- the table: sorted by name (strcmp), searched with bsearch ------------------------ */

#define REQ(n, t)        \
    {                    \
        n, t, true, 0, 0 \
    }
#define OPT(n, t)         \
    {                     \
        n, t, false, 0, 0 \
    }
#define OPT_RANGE(n, t, lo, hi) \
    {                           \
        n, t, false, lo, hi     \
    }

#define VIEW VW_ROLE_VIEW
#define OPERATE VW_ROLE_OPERATE
#define ADMIN VW_ROLE_ADMIN

static const struct vw_command commands[] = {
    {"auth",
     cmd_auth,
     {REQ("token", ARG_STRING)},
     false,
     VIEW,
     "authenticate with control.token or a seat's token"},
    {"config.reload",
     cmd_config_reload,
     {{0}},
     true,
     ADMIN,
     "reload the wall file; with errors the wall keeps the old one"},
    {"help", cmd_help, {{0}}, false, VIEW, "list the commands and their arguments"},
    {"ping", cmd_ping, {{0}}, false, VIEW, "check that the wall answers"},
    {"scene.clear", cmd_scene_clear, {{0}}, true, OPERATE, "pop every incident scene"},
    {"scene.delete",
     cmd_scene_delete,
     {REQ("scene", ARG_ID)},
     true,
     OPERATE,
     "delete a saved scene"},
    {"scene.list",
     cmd_scene_list,
     {{0}},
     false,
     VIEW,
     "the scenes (wall file, then saved) with the one showing, the base and the stack"},
    {"scene.pop",
     cmd_scene_pop,
     {REQ("scene", ARG_ID)},
     true,
     OPERATE,
     "take an incident scene off the stack"},
    {"scene.push",
     cmd_scene_push,
     {REQ("scene", ARG_ID), OPT_RANGE("ttl", ARG_NUMBER, 0, 1e9),
      OPT_RANGE("priority", ARG_INT, -1000000, 1000000)},
     true,
     OPERATE,
     "push an incident scene (ttl seconds, 0: until popped; higher priority shows)"},
    {"scene.save",
     cmd_scene_save,
     {REQ("scene", ARG_ID), OPT("name", ARG_STRING)},
     true,
     OPERATE,
     "save the wall as it shows now (tiles and picks) as a scene"},
    {"scene.switch",
     cmd_scene_switch,
     {REQ("scene", ARG_ID)},
     true,
     OPERATE,
     "make a scene the base scene"},
    {"screenshot",
     cmd_screenshot,
     {REQ("file", ARG_FILENAME)},
     true,
     OPERATE,
     "write the whole wall as a PNG into control.screenshot_dir"},
    {"source.list",
     cmd_source_list,
     {OPT("query", ARG_STRING), OPT("state", ARG_STATES), OPT("group", ARG_STRING),
      OPT_RANGE("offset", ARG_INT, 0, 1e9), OPT_RANGE("limit", ARG_INT, 0, 1e9)},
     false,
     VIEW,
     "the sources and their state (search, filter, page)"},
    {"source.reconnect",
     cmd_source_reconnect,
     {REQ("source", ARG_ID)},
     true,
     OPERATE,
     "restart a source's feed now"},
    {"status", cmd_status, {{0}}, false, VIEW, "the wall's state, frames rendered, clients"},
    {"subscribe",
     cmd_subscribe,
     {OPT("events", ARG_NAMES)},
     false,
     VIEW,
     "receive events (names or \"*\"; none given: all)"},
    {"tile.assign",
     cmd_tile_assign,
     {REQ("tile", ARG_TILE), OPT("source", ARG_ID), OPT("url", ARG_ID), OPT("name", ARG_STRING)},
     true,
     OPERATE,
     "show a source (or an ad-hoc camera by url) in a tile of the scene showing"},
    {"tile.list",
     cmd_tile_list,
     {{0}},
     false,
     VIEW,
     "the tiles of the scene showing and what each shows"},
    {"tile.reset",
     cmd_tile_reset,
     {REQ("tile", ARG_TILE)},
     true,
     OPERATE,
     "a tile (or \"all\") back to its configured source"},
    {"tile.swap",
     cmd_tile_swap,
     {REQ("a", ARG_TILE), REQ("b", ARG_TILE)},
     true,
     OPERATE,
     "swap what two tiles of the scene showing show"},
    {"unsubscribe",
     cmd_unsubscribe,
     {OPT("events", ARG_NAMES)},
     false,
     VIEW,
     "stop receiving events (names or \"*\"; none given: all)"},
};
#define COMMAND_COUNT ((int)(sizeof commands / sizeof commands[0]))

static int compare_name(const void *key, const void *elem)
{
    return strcmp(key, ((const struct vw_command *)elem)->name);
}

static const struct vw_command *find_command(const char *name)
{
    return bsearch(name, commands, COMMAND_COUNT, sizeof commands[0], compare_name);
}

const char *vw_commands_name(int i)
{
    return i >= 0 && i < COMMAND_COUNT ? commands[i].name : NULL;
}

bool vw_commands_changes_state(const char *name)
{
    const struct vw_command *cmd = find_command(name);
    return cmd && cmd->changes_state;
}

static bool cmd_help(struct call *c)
{
    cJSON *list = cJSON_AddArrayToObject(c->out, "commands");
    for (int i = 0; i < COMMAND_COUNT; i++) {
        const struct vw_command *cmd = &commands[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", cmd->name);
        cJSON_AddStringToObject(o, "summary", cmd->summary);
        cJSON *args = cJSON_AddArrayToObject(o, "args");
        for (const struct arg_spec *a = cmd->args; a->name; a++) {
            cJSON *ao = cJSON_CreateObject();
            cJSON_AddStringToObject(ao, "name", a->name);
            cJSON_AddStringToObject(ao, "type", arg_type_names[a->type]);
            cJSON_AddBoolToObject(ao, "required", a->required);
            cJSON_AddItemToArray(args, ao);
        }
        cJSON_AddBoolToObject(o, "changes_state", cmd->changes_state);
        cJSON_AddStringToObject(o, "role", role_names[cmd->role]);
        cJSON_AddItemToArray(list, o);
    }
    return true;
}

/* ---- parsing -------------------------------------------------------------------------- */

static bool parse_fail(struct vw_request *r, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool parse_fail(struct vw_request *r, const char *code, const char *fmt, ...)
{
    r->error = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    return false;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static void arg_list(const struct vw_command *cmd, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const struct arg_spec *a = cmd->args; a->name && used < cap; a++) {
        int n = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", a->name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (!buf[0])
        snprintf(buf, cap, "none");
}

static bool validate_args(struct vw_request *r)
{
    const struct vw_command *cmd = r->cmd;
    bool seen[MAX_ARGS] = {false};
    const cJSON *item;
    cJSON_ArrayForEach(item, r->root)
    {
        const char *key = item->string;
        if (strcmp(key, "id") == 0 || strcmp(key, "cmd") == 0)
            continue;
        int k = 0;
        while (cmd->args[k].name && strcmp(cmd->args[k].name, key) != 0)
            k++;
        if (!cmd->args[k].name) {
            char shown[64], takes[96];
            clip(shown, sizeof shown, key);
            arg_list(cmd, takes, sizeof takes);
            return parse_fail(r, "bad_args", "%s takes no argument \"%s\" (takes: %s)", cmd->name,
                              shown, takes);
        }
        if (seen[k])
            return parse_fail(r, "bad_args", "argument \"%s\" given twice", cmd->args[k].name);
        seen[k] = true;
        if (!check_arg(&cmd->args[k], item, r->message, sizeof r->message)) {
            r->error = "bad_args";
            return false;
        }
    }
    for (int k = 0; cmd->args[k].name; k++)
        if (cmd->args[k].required && !seen[k])
            return parse_fail(r, "bad_args", "%s needs \"%s\" (%s)", cmd->name, cmd->args[k].name,
                              arg_type_names[cmd->args[k].type]);
    return true;
}

/* Where an escaped U+0000 (\u0000) is in a JSON text, or -1. cJSON would end the string
 * there and compare what comes after as if it were not sent (a token "secret\u0000junk"
 * would pass for "secret"). Backslashes stand only inside strings in valid JSON, and each
 * escape is two characters, so skipping escapes pairwise finds every real one. */
static long escaped_nul(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '\\')
            continue;
        if (s[i + 1] == 'u' && i + 5 < n && memcmp(s + i + 2, "0000", 4) == 0)
            return (long)i;
        i++; /* the escaped character */
    }
    return -1;
}

/* The end of the JSON value that starts at s[i] (valid JSON: parsed already). */
static size_t value_end(const char *s, size_t n, size_t i)
{
    int depth = 0;
    bool in_str = false;
    for (; i < n; i++) {
        char ch = s[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"') {
                in_str = false;
                if (depth == 0)
                    return i + 1;
            }
            continue;
        }
        if (ch == '"')
            in_str = true;
        else if (ch == '{' || ch == '[')
            depth++;
        else if (ch == '}' || ch == ']') {
            if (depth == 0)
                return i; /* the end of the enclosing object */
            if (--depth == 0)
                return i + 1;
        } else if (depth == 0 && (ch == ',' || is_space(ch)))
            return i;
    }
    return n;
}

/* The text of the top-level member "id" of the object in s, exactly as sent, so that a reply
 * echoes it unchanged (cJSON keeps numbers as doubles: 12345678901234567890 and 1e999 would
 * come back altered). NULL when there is none. */
static cJSON *raw_id(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] != '{')
        i++;
    i++;
    while (i < n) {
        while (i < n && (is_space(s[i]) || s[i] == ','))
            i++;
        if (i >= n || s[i] != '"')
            return NULL;
        size_t k0 = i;
        i = value_end(s, n, i); /* the key */
        size_t k1 = i;
        while (i < n && (is_space(s[i]) || s[i] == ':'))
            i++;
        size_t v0 = i, v1 = value_end(s, n, i);
        i = v1;
        char key[16];
        bool is_id = false;
        if (k1 - k0 == 4 && memcmp(s + k0, "\"id\"", 4) == 0) {
            is_id = true;
        } else if (k1 - k0 < sizeof key && memchr(s + k0, '\\', k1 - k0)) {
            memcpy(key, s + k0, k1 - k0); /* an escaped key: decode it to compare */
            key[k1 - k0] = '\0';
            cJSON *k = cJSON_Parse(key);
            is_id = cJSON_IsString(k) && strcmp(k->valuestring, "id") == 0;
            cJSON_Delete(k);
        }
        if (is_id) {
            char *text = malloc(v1 - v0 + 1);
            if (!text)
                return NULL;
            memcpy(text, s + v0, v1 - v0);
            text[v1 - v0] = '\0';
            cJSON *raw = cJSON_CreateRaw(text);
            free(text);
            return raw;
        }
    }
    return NULL;
}

bool vw_commands_parse(const char *line, size_t len, struct vw_request *out)
{
    memset(out, 0, sizeof *out);
    while (len > 0 && is_space(line[len - 1]))
        len--;
    size_t start = 0;
    while (start < len && is_space(line[start]))
        start++;
    if (start == len) {
        out->empty = true;
        return false;
    }
    if (len > VW_COMMANDS_MAX_LINE)
        return parse_fail(out, "too_large", "a request line may hold at most %d bytes",
                          VW_COMMANDS_MAX_LINE);
    const char *nul = memchr(line, '\0', len);
    if (nul)
        return parse_fail(out, "parse_error", "NUL byte at byte %zu", (size_t)(nul - line));
    size_t bad_at;
    if (!valid_utf8((const unsigned char *)line, len, &bad_at))
        return parse_fail(out, "parse_error", "invalid UTF-8 at byte %zu", bad_at);
    long esc = escaped_nul(line, len);

    /* cJSON wants a NUL-terminated copy. */
    char *text = malloc(len + 1);
    if (!text)
        return parse_fail(out, "internal_error", "out of memory");
    memcpy(text, line, len);
    text[len] = '\0';
    const char *end = NULL;
    out->root = cJSON_ParseWithOpts(text, &end, false);
    if (!out->root) {
        size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        free(text);
        return parse_fail(out, "parse_error", "invalid JSON at byte %zu", at);
    }
    while (*end && is_space(*end))
        end++;
    if (*end) {
        size_t at = (size_t)(end - text);
        free(text);
        return parse_fail(out, "parse_error", "unexpected text after the JSON value at byte %zu",
                          at);
    }
    free(text);

    cJSON *root = out->root;
    if (!cJSON_IsObject(root))
        return parse_fail(out, "bad_request", "a request must be a JSON object");
    int ids = 0, cmds = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, root)
    {
        if (strcmp(item->string, "id") == 0 && ids++ == 0)
            out->id = item;
        if (strcmp(item->string, "cmd") == 0)
            cmds++;
    }
    if (ids > 1)
        return parse_fail(out, "bad_request", "\"id\" given twice");
    if (out->id) {
        out->id_raw = raw_id(line, len);
        if (out->id_raw)
            out->id = out->id_raw;
    }
    if (esc >= 0)
        return parse_fail(out, "bad_request", "strings may not hold U+0000 (\\u0000 at byte %ld)",
                          esc);
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(root, "cmd");
    if (!cmd)
        return parse_fail(out, "bad_request", "a request needs \"cmd\" (try {\"cmd\":\"help\"})");
    if (!cJSON_IsString(cmd))
        return parse_fail(out, "bad_request", "\"cmd\" must be a string");
    if (cmds > 1)
        return parse_fail(out, "bad_request", "\"cmd\" given twice");
    out->cmd_name = cmd->valuestring;
    out->cmd = find_command(cmd->valuestring);
    if (!out->cmd) {
        char shown[64];
        clip(shown, sizeof shown, cmd->valuestring);
        return parse_fail(out, "unknown_command", "unknown command \"%s\" (try \"help\")", shown);
    }
    return validate_args(out);
}

void vw_request_finish(struct vw_request *r)
{
    cJSON_Delete(r->root);
    cJSON_Delete(r->id_raw);
    memset(r, 0, sizeof *r);
}

/* ---- sessions ------------------------------------------------------------------------- */

void vw_session_init(struct vw_session *s, const char *peer, bool trusted)
{
    memset(s, 0, sizeof *s);
    clip(s->peer, sizeof s->peer, peer ? peer : "?");
    s->trusted = trusted;
    s->role = trusted ? VW_ROLE_ADMIN : VW_ROLE_VIEW;
}

void vw_session_finish(struct vw_session *s)
{
    for (int i = 0; i < s->event_count; i++)
        free(s->events[i]);
    s->event_count = 0;
    s->all_events = false;
}

bool vw_session_wants(const struct vw_session *s, const char *event)
{
    if (s->all_events)
        return true;
    return event && find_subscription(s, event) >= 0;
}

/* ---- dispatch ------------------------------------------------------------------------- */

struct cJSON *vw_commands_error_reply(const struct cJSON *id, const char *code, const char *message)
{
    cJSON *reply = cJSON_CreateObject();
    if (!reply)
        return NULL;
    if (id)
        cJSON_AddItemToObject(reply, "id", cJSON_Duplicate(id, true));
    cJSON_AddFalseToObject(reply, "ok");
    cJSON_AddStringToObject(reply, "error", code);
    cJSON_AddStringToObject(reply, "message", message);
    return reply;
}

/* Moves every field of `from` to the end of `to`, then frees `from`. */
static void move_fields(cJSON *to, cJSON *from)
{
    while (from->child) {
        cJSON *item = cJSON_DetachItemViaPointer(from, from->child);
        cJSON_AddItemToObject(to, item->string, item);
    }
    cJSON_Delete(from);
}

#define AUDIT_ARGS_MAX 600

static void audit(const struct vw_session *s, const struct vw_request *r, const char *result)
{
    char args[AUDIT_ARGS_MAX + 4] = "{}";
    cJSON *copy = cJSON_Duplicate(r->root, true);
    if (copy) {
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "id");
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "cmd");
        char *text = cJSON_PrintUnformatted(copy);
        if (text) {
            clip(args, AUDIT_ARGS_MAX + 1, text);
            if (strlen(text) > AUDIT_ARGS_MAX)
                strcat(args, "...");
            free(text);
        }
        cJSON_Delete(copy);
    }
    if (s->seat[0])
        vw_info("audit: client=%s (%s) cmd=%s args=%s result=%s", s->seat, s->peer, r->cmd->name,
                args, result);
    else
        vw_info("audit: client=%s cmd=%s args=%s result=%s", s->peer, r->cmd->name, args, result);
}

struct cJSON *vw_commands_handle_line(struct vw_command_ctx *ctx, struct vw_session *s,
                                      const char *line, size_t len)
{
    struct vw_request r;
    bool valid = vw_commands_parse(line, len, &r);
    cJSON *reply = NULL;
    if (r.empty)
        goto done;
    if (!valid && r.error &&
        (strcmp(r.error, "parse_error") == 0 || strcmp(r.error, "bad_request") == 0 ||
         strcmp(r.error, "too_large") == 0)) {
        reply = vw_commands_error_reply(r.id, r.error, r.message);
        goto done;
    }
    /* A TCP client owes a token before anything but "auth" when tokens or seats are set. */
    const struct vw_config *cfg = vw_wall_config(ctx->wall);
    bool locked = tokens_configured(cfg);
    bool needs_auth =
        !s->trusted && !s->authed && locked && !(r.cmd_name && strcmp(r.cmd_name, "auth") == 0);
    if (needs_auth) {
        if (r.cmd && r.cmd->changes_state)
            audit(s, &r, "unauthorized");
        reply = vw_commands_error_reply(r.id, "unauthorized",
                                        "send {\"cmd\":\"auth\",\"token\":...} first");
        goto done;
    }
    if (!valid) {
        if (r.cmd && r.cmd->changes_state)
            audit(s, &r, r.error);
        reply = vw_commands_error_reply(r.id, r.error, r.message);
        goto done;
    }

    enum vw_role role = s->trusted || !locked ? VW_ROLE_ADMIN : s->role;
    if (r.cmd->role > role) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s needs the %s role; %s%s%s has %s", r.cmd->name,
                 role_names[r.cmd->role], s->seat[0] ? "seat '" : "this client",
                 s->seat[0] ? s->seat : "", s->seat[0] ? "'" : "", role_names[role]);
        if (r.cmd->changes_state)
            audit(s, &r, "forbidden");
        reply = vw_commands_error_reply(r.id, "forbidden", msg);
        goto done;
    }

    struct call c = {
        .ctx = ctx, .session = s, .req = r.root, .id = r.id, .out = cJSON_CreateObject()};
    if (!c.out) {
        reply = NULL;
        goto done;
    }
    bool ok = r.cmd->handler(&c);
    uint64_t proposal = vw_wall_take_ticket(ctx->wall);
    if (ok && proposal && !c.deferred && ctx->defer) { /* a cluster commits it, then we answer */
        struct pending_commit *p = calloc(1, sizeof *p);
        if (!p)
            abort();
        p->ctx = *ctx;
        p->id = r.id ? cJSON_Duplicate(r.id, true) : NULL;
        p->out = c.out;
        p->cmd = r.cmd->name;
        clip(p->by, sizeof p->by, who(&c));
        p->ticket = ctx->defer(ctx->defer_ud);
        vw_wall_when_committed(ctx->wall, proposal, commit_done, commit_cancelled, p);
        audit(s, &r, "proposed");
        goto done;
    }
    if (ok && r.cmd->changes_state && !c.deferred) {
        /* The revision the change made, and when it shows: at once on one box; without a way
         * to answer later, a cluster's proposal is answered now, as not yet committed. */
        cJSON_DeleteItemFromObjectCaseSensitive(c.out, "revision");
        if (proposal) {
            cJSON_AddNullToObject(c.out, "revision");
            cJSON_AddBoolToObject(c.out, "committed", false);
        } else {
            cJSON_AddNumberToObject(c.out, "revision", (double)vw_wall_revision(ctx->wall));
            cJSON_AddNumberToObject(c.out, "at", (double)vw_realtime_ms());
        }
    }
    if (r.cmd->changes_state)
        audit(s, &r, c.deferred ? "started" : ok ? "ok" : c.error);
    if (c.deferred) {
        cJSON_Delete(c.out);
        goto done;
    }
    if (ok) {
        reply = cJSON_CreateObject();
        if (reply) {
            if (r.id)
                cJSON_AddItemToObject(reply, "id", cJSON_Duplicate(r.id, true));
            cJSON_AddTrueToObject(reply, "ok");
        }
    } else {
        reply = vw_commands_error_reply(r.id, c.error, c.message);
    }
    if (reply)
        move_fields(reply, c.out);
    else
        cJSON_Delete(c.out);
done:
    vw_request_finish(&r);
    return reply;
}
