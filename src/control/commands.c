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
};

static const char *const arg_type_names[] = {
    [ARG_ID] = "id",
    [ARG_STRING] = "string",
    [ARG_INT] = "integer",
    [ARG_NUMBER] = "number",
    [ARG_TILE] = "tile",
    [ARG_NAMES] = "names",
    [ARG_FILENAME] = "filename",
};

struct arg_spec {
    const char *name; /* NULL ends the list */
    enum arg_type type;
    bool required;
    double min, max; /* ARG_INT, ARG_NUMBER */
};

#define MAX_ARGS 4

/* One running command: what a handler sees and fills. */
struct call {
    struct vw_command_ctx *ctx;
    struct vw_session *session;
    const cJSON *req; /* the request object; arguments are validated already */
    cJSON *out;       /* fields of the reply beyond id/ok (error or success) */
    const char *error;
    char message[256];
};

struct vw_command {
    const char *name;
    bool (*handler)(struct call *c);
    struct arg_spec args[MAX_ARGS + 1];
    bool changes_state; /* audited */
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
        if (*p < 0x20 || *p == 0x7F)
            return "must not contain control characters";
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

static void add_scene_id(cJSON *out, const char *key, const struct vw_config *cfg, int idx)
{
    if (cfg && idx >= 0 && idx < cfg->scene_count)
        cJSON_AddStringToObject(out, key, cfg->scenes[idx].id);
    else
        cJSON_AddNullToObject(out, key);
}

static void add_current(struct call *c)
{
    const struct vw_config *cfg = vw_wall_config(c->ctx->wall);
    add_scene_id(c->out, "current", cfg, vw_wall_current_scene(c->ctx->wall));
}

static const char *configured_token(const struct vw_wall *w)
{
    const struct vw_config *cfg = vw_wall_config(w);
    const char *t = cfg ? cfg->control.token : NULL;
    return t && t[0] ? t : NULL;
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
    const char *want = configured_token(c->ctx->wall);
    if (!want || c->session->trusted) {
        c->session->authed = true;
        return true;
    }
    if (!same_secret(str_arg(c->req, "token"), want)) {
        c->session->authed = false;
        vw_warn("control: client=%s sent a wrong token", c->session->peer);
        return fail(c, "unauthorized", "wrong token");
    }
    c->session->authed = true;
    return true;
}

static bool cmd_help(struct call *c);

static bool cmd_ping(struct call *c)
{
    (void)c;
    return true;
}

static bool cmd_scene_list(struct call *c)
{
    struct vw_wall *w = c->ctx->wall;
    const struct vw_config *cfg = vw_wall_config(w);
    cJSON *scenes = vw_wall_scenes_json(w);
    cJSON_AddItemToObject(c->out, "scenes", scenes ? scenes : cJSON_CreateArray());
    add_current(c);
    add_scene_id(c->out, "base", cfg, vw_wall_base_scene(w));
    return true;
}

static bool known_scene(struct call *c, const char *id)
{
    if (vw_config_find_scene(vw_wall_config(c->ctx->wall), id) >= 0)
        return true;
    char shown[96];
    clip(shown, sizeof shown, id);
    return fail(c, "unknown_scene", "no scene '%s' in the wall file", shown);
}

static bool cmd_scene_switch(struct call *c)
{
    const char *id = str_arg(c->req, "scene");
    if (!known_scene(c, id))
        return false;
    if (!vw_wall_switch(c->ctx->wall, id, c->session->peer))
        return fail(c, "unknown_scene", "the wall has no scene with that id");
    add_current(c);
    return true;
}

static bool cmd_scene_push(struct call *c)
{
    const char *id = str_arg(c->req, "scene");
    double ttl = num_arg(c->req, "ttl", 0);
    int priority = (int)num_arg(c->req, "priority", 0);
    if (!known_scene(c, id))
        return false;
    if (!vw_wall_push(c->ctx->wall, id, priority, ttl, c->session->peer))
        return fail(c, "unknown_scene", "the wall has no scene with that id");
    add_current(c);
    return true;
}

static bool cmd_scene_pop(struct call *c)
{
    const char *id = str_arg(c->req, "scene");
    if (!known_scene(c, id))
        return false;
    if (!vw_wall_pop(c->ctx->wall, id, c->session->peer)) {
        char shown[96];
        clip(shown, sizeof shown, id);
        return fail(c, "not_pushed", "scene '%s' is not on the incident stack", shown);
    }
    add_current(c);
    return true;
}

static bool cmd_tile_assign(struct call *c)
{
    const cJSON *tile = cJSON_GetObjectItemCaseSensitive(c->req, "tile");
    const char *source = str_arg(c->req, "source");
    int index = -1;
    const char *tile_id = NULL;
    if (cJSON_IsString(tile)) {
        tile_id = tile->valuestring;
    } else {
        double v = tile->valuedouble;
        if (v < 0)
            return fail(c, "bad_tile", "tile index %.0f is negative", v);
        index = (int)v;
    }
    switch (vw_wall_assign(c->ctx->wall, index, tile_id, source, c->session->peer)) {
    case VW_ASSIGN_OK: return true;
    case VW_ASSIGN_BAD_TILE: {
        if (tile_id) {
            char shown[96];
            clip(shown, sizeof shown, tile_id);
            return fail(c, "bad_tile", "the scene showing has no tile '%s'", shown);
        }
        return fail(c, "bad_tile", "the scene showing has no tile %d", index);
    }
    case VW_ASSIGN_UNKNOWN_SOURCE: {
        char shown[96];
        clip(shown, sizeof shown, source);
        return fail(c, "unknown_source", "no source '%s' in the wall file", shown);
    }
    }
    return fail(c, "internal_error", "unexpected result from the wall");
}

static bool cmd_source_list(struct call *c)
{
    cJSON *sources = vw_wall_sources_json(c->ctx->wall);
    cJSON_AddItemToObject(c->out, "sources", sources ? sources : cJSON_CreateArray());
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
    return true;
}

static bool cmd_config_reload(struct call *c)
{
    struct vw_errors errs;
    vw_errors_init(&errs);
    bool ok = vw_wall_reload(c->ctx->wall, &errs);
    if (ok) {
        c->ctx->reloaded = true;
        vw_errors_finish(&errs);
        return true;
    }
    cJSON *list = cJSON_AddArrayToObject(c->out, "errors");
    for (int i = 0; i < errs.count; i++)
        cJSON_AddItemToArray(list, cJSON_CreateString(errs.msgs[i]));
    char first[200];
    clip(first, sizeof first, errs.count ? errs.msgs[0] : "unknown error");
    fail(c, "config_error", "the wall file has %d error%s; the wall keeps the old one: %s",
         errs.count, errs.count == 1 ? "" : "s", first);
    vw_errors_finish(&errs);
    return false;
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

static const struct vw_command commands[] = {
    {"auth",
     cmd_auth,
     {REQ("token", ARG_STRING)},
     false,
     "authenticate a TCP connection with control.token"},
    {"config.reload",
     cmd_config_reload,
     {{0}},
     true,
     "reload the wall file; with errors the wall keeps the old one"},
    {"help", cmd_help, {{0}}, false, "list the commands and their arguments"},
    {"ping", cmd_ping, {{0}}, false, "check that the wall answers"},
    {"scene.list", cmd_scene_list, {{0}}, false, "the scenes in file order and the one showing"},
    {"scene.pop",
     cmd_scene_pop,
     {REQ("scene", ARG_ID)},
     true,
     "take an incident scene off the stack"},
    {"scene.push",
     cmd_scene_push,
     {REQ("scene", ARG_ID), OPT_RANGE("ttl", ARG_NUMBER, 0, 1e9),
      OPT_RANGE("priority", ARG_INT, -1000000, 1000000)},
     true,
     "push an incident scene (ttl seconds, 0: until popped; higher priority shows)"},
    {"scene.switch", cmd_scene_switch, {REQ("scene", ARG_ID)}, true, "make a scene the base scene"},
    {"screenshot",
     cmd_screenshot,
     {REQ("file", ARG_FILENAME)},
     true,
     "write the whole wall as a PNG into control.screenshot_dir"},
    {"source.list", cmd_source_list, {{0}}, false, "the sources and their state"},
    {"status", cmd_status, {{0}}, false, "the wall's state, frames rendered, clients"},
    {"subscribe",
     cmd_subscribe,
     {OPT("events", ARG_NAMES)},
     false,
     "receive events (names or \"*\"; none given: all)"},
    {"tile.assign",
     cmd_tile_assign,
     {REQ("tile", ARG_TILE), REQ("source", ARG_ID)},
     true,
     "show a source in a tile of the scene showing until it is left"},
    {"unsubscribe",
     cmd_unsubscribe,
     {OPT("events", ARG_NAMES)},
     false,
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
    memset(r, 0, sizeof *r);
}

/* ---- sessions ------------------------------------------------------------------------- */

void vw_session_init(struct vw_session *s, const char *peer, bool trusted)
{
    memset(s, 0, sizeof *s);
    clip(s->peer, sizeof s->peer, peer ? peer : "?");
    s->trusted = trusted;
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
    /* A TCP client owes the token before anything but "auth". */
    bool needs_auth = !s->trusted && !s->authed && configured_token(ctx->wall) &&
                      !(r.cmd_name && strcmp(r.cmd_name, "auth") == 0);
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

    struct call c = {.ctx = ctx, .session = s, .req = r.root, .out = cJSON_CreateObject()};
    if (!c.out) {
        reply = NULL;
        goto done;
    }
    bool ok = r.cmd->handler(&c);
    if (r.cmd->changes_state)
        audit(s, &r, ok ? "ok" : c.error);
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
