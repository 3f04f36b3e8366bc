/* config: the wall file (libconfig) → a validated, immutable model of the wall.
 *
 * Every group of the file is declared once, as a table of keys (name, type, range,
 * required, where the value goes). One generic walker checks a group against its
 * table: unknown keys, types, ranges, missing keys; it stores what is valid and
 * records what is not, then carries on so that one run reports every problem.
 * What a table cannot say (ids that must be unique, tiles inside the wall, a tile
 * naming a source) is checked afterwards by hand, with the same message form:
 *
 *     path:line: <setting>: what is wrong and what is expected
 *
 * The messages are sorted by line before they reach the caller, so they read in
 * file order. */
#include "model/config.h"

#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_PANELS 64
#define RECT_EPS 1e-6 /* slack for rects computed in floating point */
#define SPATH 256     /* longest setting path in a message, e.g. "scenes[2].tiles[11].rect" */

/* ---- errors, collected then sorted by line ---- */

struct err_item {
    int line; /* 0: the file as a whole */
    int seq;  /* order found, to keep the sort stable */
    char *msg;
};

struct loader {
    const char *path; /* the wall file as given */
    const char *dir;  /* its folder */
    struct err_item *errs;
    int nerr, cap;
};

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

static char *xstrdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

static void fail(struct loader *L, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(struct loader *L, int line, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);

    char prefix[64];
    if (line > 0)
        snprintf(prefix, sizeof prefix, ":%d", line);
    else
        prefix[0] = '\0';
    size_t n = strlen(L->path) + strlen(prefix) + strlen(text) + 3;
    char *msg = xmalloc(n);
    snprintf(msg, n, "%s%s: %s", L->path, prefix, text);

    if (L->nerr == L->cap) {
        L->cap = L->cap ? L->cap * 2 : 16;
        L->errs = realloc(L->errs, (size_t)L->cap * sizeof *L->errs);
        if (!L->errs)
            abort();
    }
    L->errs[L->nerr] = (struct err_item){line, L->nerr, msg};
    L->nerr++;
}

static int by_line(const void *a, const void *b)
{
    const struct err_item *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Hands the messages to `errs` in file order and empties the loader's list. */
static void flush_errors(struct loader *L, struct vw_errors *errs)
{
    if (!L->nerr)
        return;
    qsort(L->errs, (size_t)L->nerr, sizeof *L->errs, by_line);
    for (int i = 0; i < L->nerr; i++) {
        vw_errors_add(errs, "%s", L->errs[i].msg);
        free(L->errs[i].msg);
    }
    free(L->errs);
    L->errs = NULL;
    L->nerr = L->cap = 0;
}

static int line_of(const config_setting_t *s)
{
    return s ? (int)config_setting_source_line(s) : 0;
}

/* ---- paths ---- */

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xstrdup(".");
    if (slash == path)
        return xstrdup("/");
    size_t n = (size_t)(slash - path);
    char *d = xmalloc(n + 1);
    memcpy(d, path, n);
    d[n] = '\0';
    return d;
}

/* `rel` joined to `dir`; an absolute `rel` is kept as it is. */
static char *resolve_path(const char *dir, const char *rel)
{
    if (rel[0] == '/')
        return xstrdup(rel);
    size_t dn = strlen(dir);
    const char *sep = dn && dir[dn - 1] == '/' ? "" : "/";
    size_t n = dn + strlen(sep) + strlen(rel) + 1;
    char *p = xmalloc(n);
    snprintf(p, n, "%s%s%s", dir, sep, rel);
    return p;
}

/* "scheme://..." in the sense of RFC 3986: a letter, then letters, digits, + . - */
static bool has_scheme(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return false;
    for (s++; *s; s++) {
        if (*s == ':')
            return s[1] == '/' && s[2] == '/';
        bool ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                  (*s >= '0' && *s <= '9') || *s == '+' || *s == '.' || *s == '-';
        if (!ok)
            return false;
    }
    return false;
}

static char *resolve_url(const char *dir, const char *url)
{
    return has_scheme(url) ? xstrdup(url) : resolve_path(dir, url);
}

/* ---- the key tables ---- */

enum ktype {
    T_INT,     /* integer → int */
    T_NUM,     /* integer or float → double */
    T_BOOL,    /* → bool */
    T_STR,     /* → char * */
    T_PATH,    /* file path, resolved against the wall file's folder → char * */
    T_URL,     /* FFmpeg URL kept, or a file path resolved like T_PATH → char * */
    T_ENUM,    /* one string of `choices` → int (its index) */
    T_ENUMSTR, /* one string of `choices` → char * */
    T_INTS,    /* `count` integers, array or list → int[count] */
    T_NUMS,    /* `count` integers or floats, array or list → double[count] */
    T_STRS,    /* strings, array or list → char ** at off, int count at off_count */
    T_GROUP,   /* { ... } walked with `sub`, storing into the same base */
    T_LIST,    /* ( { ... }, ... ): only its type is checked; the caller walks it */
};

struct key {
    const char *name;
    enum ktype type;
    bool required;
    bool nonempty;   /* strings: "" is an error */
    bool ranged;     /* numbers (each element for T_INTS/T_NUMS) must lie in min..max */
    bool min_open;   /* ... and be > min rather than >= min */
    double min, max; /* max = INFINITY: no upper bound */
    int count;
    const char *shape;          /* T_INTS/T_NUMS: what the elements mean, e.g. "[x, y, w, h]" */
    const char *const *choices; /* T_ENUM/T_ENUMSTR: NULL-terminated */
    const struct key *sub;      /* T_GROUP */
    size_t off, off_count;
};

#define REQUIRED .required = true
#define OPTIONAL .required = false
#define NONEMPTY .nonempty = true
#define RANGE(lo, hi) .ranged = true, .min = (lo), .max = (hi)
#define ABOVE(lo) .ranged = true, .min_open = true, .min = (lo), .max = INFINITY
#define AT(type, field) .off = offsetof(type, field)

static const char *const hwaccel_names[] = {"none", "auto", "vaapi", "cuda",
                                            NULL};                       /* enum vw_hwaccel */
static const char *const fit_names[] = {"fit", "fill", "stretch", NULL}; /* enum vw_fit */
static const char *const output_names[] = {"window", "fullscreen", "displays", NULL};
static const char *const transport_names[] = {"tcp", "udp", NULL};

_Static_assert(VW_HWACCEL_NONE == 0 && VW_HWACCEL_AUTO == 1 && VW_HWACCEL_VAAPI == 2 &&
                   VW_HWACCEL_CUDA == 3,
               "hwaccel_names follows enum vw_hwaccel");
_Static_assert(VW_FIT_FIT == 0 && VW_FIT_FILL == 1 && VW_FIT_STRETCH == 2,
               "fit_names follows enum vw_fit");
_Static_assert(sizeof(enum vw_fit) == sizeof(int) && sizeof(enum vw_hwaccel) == sizeof(int),
               "T_ENUM stores an int");

#define C struct vw_config
static const struct key screen_keys[] = {
    {"width", T_INT, REQUIRED, RANGE(16, 16384), AT(C, screen_w)},
    {"height", T_INT, REQUIRED, RANGE(16, 16384), AT(C, screen_h)},
    {0},
};
static const struct key grid_keys[] = {
    {"columns", T_INT, REQUIRED, RANGE(1, MAX_PANELS), AT(C, columns)},
    {"rows", T_INT, REQUIRED, RANGE(1, MAX_PANELS), AT(C, rows)},
    {0},
};
static const struct key bezel_keys[] = {
    {"x", T_INT, RANGE(0, 16384), AT(C, bezel_x)},
    {"y", T_INT, RANGE(0, 16384), AT(C, bezel_y)},
    {0},
};
static const struct key wall_keys[] = {
    {"name", T_STR, AT(C, name)},
    {"screen", T_GROUP, REQUIRED, .sub = screen_keys},
    {"grid", T_GROUP, REQUIRED, .sub = grid_keys},
    {"bezel", T_GROUP, .sub = bezel_keys},
    {"labels", T_BOOL, AT(C, labels)},
    {"font", T_PATH, NONEMPTY, AT(C, font)},
    {"label_size", T_INT, RANGE(4, 1024), AT(C, label_size)},
    {"hwaccel", T_ENUM, .choices = hwaccel_names, AT(C, hwaccel)},
    {"substream_ratio", T_NUM, RANGE(1, 1e6), AT(C, substream_ratio)},
    {"output", T_ENUMSTR, .choices = output_names, AT(C, output)},
    {"displays", T_LIST, OPTIONAL},
    {0},
};
static const struct key control_keys[] = {
    {"listen", T_STRS, AT(C, control.listen), .off_count = offsetof(C, control.listen_count)},
    {"token", T_STR, NONEMPTY, AT(C, control.token)},
    {"screenshot_dir", T_PATH, NONEMPTY, AT(C, control.screenshot_dir)},
    {"socket_group", T_STR, NONEMPTY, AT(C, control.socket_group)},
    {"http", T_STR, NONEMPTY, AT(C, control.http)},
    {"http_cert", T_PATH, NONEMPTY, AT(C, control.http_cert)},
    {"http_key", T_PATH, NONEMPTY, AT(C, control.http_key)},
    {0},
};
static const struct key root_keys[] = {
    {"wall", T_GROUP, REQUIRED, .sub = wall_keys},
    {"sources", T_LIST, REQUIRED},
    {"scenes", T_LIST, REQUIRED},
    {"control", T_GROUP, .sub = control_keys},
    {0},
};
#undef C

#define S struct vw_source_cfg
static const struct key source_keys[] = {
    {"id", T_STR, REQUIRED, NONEMPTY, AT(S, id)},
    {"name", T_STR, AT(S, name)},
    {"url", T_URL, REQUIRED, NONEMPTY, AT(S, url)},
    {"substream", T_URL, NONEMPTY, AT(S, substream)},
    {"loop", T_BOOL, AT(S, loop)},
    {"warm", T_BOOL, AT(S, warm)},
    {"stall_timeout", T_NUM, ABOVE(0), AT(S, stall_timeout)},
    {"linger", T_NUM, RANGE(0, INFINITY), AT(S, linger)},
    {"hwaccel", T_ENUM, .choices = hwaccel_names, AT(S, hwaccel)},
    {"substream_ratio", T_NUM, RANGE(1, 1e6), AT(S, substream_ratio)},
    {"transport", T_ENUMSTR, .choices = transport_names, AT(S, transport)},
    {0},
};
#undef S

/* Scenes and tiles are read into these, then moved into the model. */
struct scene_in {
    struct vw_scene_cfg s;
    int grid[2]; /* shorthand: columns, rows over the whole wall; 0 when absent or broken */
    bool grid_given;
};
struct tile_in {
    struct vw_tile_cfg t;
    char *source;
    double rect[4];
    int cell[2];
    int span[2];
};
struct display_in {
    struct vw_display_cfg d;
    int panels[4];
};

static const struct key scene_keys[] = {
    {"id", T_STR, REQUIRED, NONEMPTY, AT(struct scene_in, s.id)},
    {"name", T_STR, AT(struct scene_in, s.name)},
    {"default", T_BOOL, AT(struct scene_in, s.is_default)},
    {"grid", T_INTS, RANGE(1, MAX_PANELS), .count = 2, .shape = "[columns, rows]",
     AT(struct scene_in, grid)},
    {"tiles", T_LIST, REQUIRED},
    {0},
};

#define T struct tile_in
static const struct key tile_keys[] = {
    {"id", T_STR, NONEMPTY, AT(T, t.id)},
    {"source", T_STR, REQUIRED, NONEMPTY, AT(T, source)},
    {"rect", T_NUMS, .count = 4, .shape = "[x, y, w, h]", AT(T, rect)},
    {"cell", T_INTS, RANGE(0, MAX_PANELS - 1), .count = 2, .shape = "[column, row]", AT(T, cell)},
    {"span", T_INTS, RANGE(1, MAX_PANELS), .count = 2, .shape = "[columns, rows]", AT(T, span)},
    {"fit", T_ENUM, .choices = fit_names, AT(T, t.fit)},
    {"label", T_BOOL, AT(T, t.label)},
    {0},
};
#undef T

static const struct key display_keys[] = {
    {"display", T_INT, REQUIRED, RANGE(0, 255), AT(struct display_in, d.display)},
    {"panels", T_INTS, REQUIRED, RANGE(0, MAX_PANELS), .count = 4, .shape = "[x, y, columns, rows]",
     AT(struct display_in, panels)},
    {0},
};

/* ---- the walker ---- */

static bool is_int(const config_setting_t *s)
{
    int t = config_setting_type(s);
    return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
}

static bool is_number(const config_setting_t *s)
{
    return is_int(s) || config_setting_type(s) == CONFIG_TYPE_FLOAT;
}

static bool is_sequence(const config_setting_t *s)
{
    return config_setting_is_array(s) || config_setting_is_list(s);
}

static double number_of(const config_setting_t *s)
{
    return is_int(s) ? (double)config_setting_get_int64(s) : config_setting_get_float(s);
}

/* What a key wants, for "expected ..." messages. */
static void describe(const struct key *k, char *buf, size_t n)
{
    switch (k->type) {
    case T_INT: snprintf(buf, n, "an integer"); break;
    case T_NUM: snprintf(buf, n, "a number"); break;
    case T_BOOL: snprintf(buf, n, "true or false"); break;
    case T_STR:
    case T_PATH:
    case T_URL: snprintf(buf, n, k->nonempty ? "a non-empty string" : "a string"); break;
    case T_ENUM:
    case T_ENUMSTR: {
        size_t used = (size_t)snprintf(buf, n, "one of");
        for (int i = 0; k->choices[i] && used < n; i++)
            used +=
                (size_t)snprintf(buf + used, n - used, "%s \"%s\"", i ? "," : "", k->choices[i]);
        break;
    }
    case T_INTS: snprintf(buf, n, "%d integers %s", k->count, k->shape); break;
    case T_NUMS: snprintf(buf, n, "%d numbers %s", k->count, k->shape); break;
    case T_STRS: snprintf(buf, n, "a list of strings [\"...\", ...]"); break;
    case T_GROUP: snprintf(buf, n, "a group { ... }"); break;
    case T_LIST: snprintf(buf, n, "a list ( { ... }, ... )"); break;
    }
}

static bool in_range(const struct key *k, double v)
{
    if (!k->ranged)
        return true;
    if (k->min_open ? v <= k->min : v < k->min)
        return false;
    return v <= k->max;
}

/* "expected an integer in 16..16384, got 8", "expected a number > 0, got 0" */
static void fail_range(struct loader *L, const config_setting_t *s, const char *spath,
                       const struct key *k, double v)
{
    const char *what = (k->type == T_INT || k->type == T_INTS) ? "an integer" : "a number";
    if (isinf(k->max))
        fail(L, line_of(s), "%s: expected %s %s %g, got %g", spath, what,
             k->min_open ? ">" : ">=", k->min, v);
    else
        fail(L, line_of(s), "%s: expected %s in %g..%g, got %g", spath, what, k->min, k->max, v);
}

static int choice_index(const char *const *choices, const char *s)
{
    for (int i = 0; choices[i]; i++)
        if (!strcmp(choices[i], s))
            return i;
    return -1;
}

static void set_string(void *at, char *s)
{
    free(*(char **)at);
    *(char **)at = s;
}

static bool walk(struct loader *L, const config_setting_t *group, const char *gpath,
                 const struct key *keys, void *base);

/* Checks one present setting against its key and stores it at base + k->off. */
static void store(struct loader *L, const struct key *k, const config_setting_t *s,
                  const char *spath, void *base)
{
    char *at = (char *)base + k->off;
    char want[160];
    describe(k, want, sizeof want);

    switch (k->type) {
    case T_INT: {
        if (!is_int(s))
            break;
        long long v = config_setting_get_int64(s);
        if (!in_range(k, (double)v) || v < INT_MIN || v > INT_MAX) {
            fail_range(L, s, spath, k, (double)v);
            return;
        }
        *(int *)at = (int)v;
        return;
    }
    case T_NUM: {
        if (!is_number(s))
            break;
        double v = number_of(s);
        if (!in_range(k, v)) {
            fail_range(L, s, spath, k, v);
            return;
        }
        *(double *)at = v;
        return;
    }
    case T_BOOL:
        if (config_setting_type(s) != CONFIG_TYPE_BOOL)
            break;
        *(bool *)at = config_setting_get_bool(s);
        return;
    case T_STR:
    case T_PATH:
    case T_URL: {
        if (config_setting_type(s) != CONFIG_TYPE_STRING)
            break;
        const char *v = config_setting_get_string(s);
        if (k->nonempty && !*v) {
            fail(L, line_of(s), "%s: expected %s, got \"\"", spath, want);
            return;
        }
        set_string(at, k->type == T_PATH  ? resolve_path(L->dir, v)
                       : k->type == T_URL ? resolve_url(L->dir, v)
                                          : xstrdup(v));
        return;
    }
    case T_ENUM:
    case T_ENUMSTR: {
        if (config_setting_type(s) != CONFIG_TYPE_STRING)
            break;
        const char *v = config_setting_get_string(s);
        int i = choice_index(k->choices, v);
        if (i < 0) {
            fail(L, line_of(s), "%s: expected %s, got \"%s\"", spath, want, v);
            return;
        }
        if (k->type == T_ENUM)
            *(int *)at = i;
        else
            set_string(at, xstrdup(v));
        return;
    }
    case T_INTS:
    case T_NUMS: {
        if (!is_sequence(s) || config_setting_length(s) != k->count)
            break;
        bool ok = true;
        for (int i = 0; i < k->count; i++)
            if (!(k->type == T_INTS ? is_int : is_number)(config_setting_get_elem(s, (unsigned)i)))
                ok = false;
        if (!ok)
            break;
        for (int i = 0; i < k->count; i++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
            double v = number_of(e);
            if (!in_range(k, v)) {
                char epath[SPATH + 16];
                snprintf(epath, sizeof epath, "%s[%d]", spath, i);
                fail_range(L, e, epath, k, v);
                continue;
            }
            if (k->type == T_INTS)
                ((int *)at)[i] = (int)v;
            else
                ((double *)at)[i] = v;
        }
        return;
    }
    case T_STRS: {
        if (!is_sequence(s))
            break;
        int n = config_setting_length(s);
        for (int i = 0; i < n; i++)
            if (config_setting_type(config_setting_get_elem(s, (unsigned)i)) != CONFIG_TYPE_STRING)
                goto wrong;
        char **v = xcalloc((size_t)n, sizeof *v);
        for (int i = 0; i < n; i++)
            v[i] = xstrdup(config_setting_get_string(config_setting_get_elem(s, (unsigned)i)));
        char ***list = (char ***)at;
        int *count = (int *)((char *)base + k->off_count);
        for (int i = 0; i < *count; i++)
            free((*list)[i]);
        free(*list);
        *list = v;
        *count = n;
        return;
    }
    case T_GROUP:
        if (!config_setting_is_group(s))
            break;
        walk(L, s, spath, k->sub, base);
        return;
    case T_LIST:
        /* An empty [] is an empty list too. */
        if (!config_setting_is_list(s) &&
            !(config_setting_is_array(s) && config_setting_length(s) == 0))
            break;
        return;
    }
wrong:
    fail(L, line_of(s), "%s: expected %s", spath, want);
}

static const struct key *find_key(const struct key *keys, const char *name)
{
    for (const struct key *k = keys; k->name; k++)
        if (!strcmp(k->name, name))
            return k;
    return NULL;
}

static void join(char *out, const char *gpath, const char *name)
{
    if (*gpath)
        snprintf(out, SPATH, "%s.%s", gpath, name);
    else
        snprintf(out, SPATH, "%s", name);
}

/* Checks `group` against `keys` (unknown keys, types, ranges, required keys) and
 * stores every valid value into `base`. `gpath` names the group in messages; ""
 * is the top level. Returns false when it found a problem. */
static bool walk(struct loader *L, const config_setting_t *group, const char *gpath,
                 const struct key *keys, void *base)
{
    int before = L->nerr;
    int n = config_setting_length(group);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(s);
        const struct key *k = find_key(keys, name);
        if (!k) {
            if (*gpath)
                fail(L, line_of(s), "unknown key '%s' in %s", name, gpath);
            else
                fail(L, line_of(s), "unknown key '%s' at top level", name);
            continue;
        }
        char spath[SPATH];
        join(spath, gpath, name);
        store(L, k, s, spath, base);
    }
    for (const struct key *k = keys; k->name; k++) {
        if (!k->required || config_setting_get_member(group, k->name))
            continue;
        if (*gpath)
            fail(L, line_of(group), "missing key '%s' in %s", k->name, gpath);
        else
            fail(L, 0, "missing key '%s' at top level", k->name);
    }
    return L->nerr == before;
}

/* The member `name` of `group` when it is a list the walker accepted, else NULL. */
static const config_setting_t *list_member(const config_setting_t *group, const char *name)
{
    const config_setting_t *s =
        group && config_setting_is_group(group) ? config_setting_get_member(group, name) : NULL;
    if (s && (config_setting_is_list(s) || config_setting_is_array(s)))
        return s;
    return NULL;
}

static const config_setting_t *member(const config_setting_t *group, const char *name)
{
    return config_setting_get_member(group, name);
}

/* ---- checks the tables cannot express ---- */

static void check_displays(struct loader *L, struct vw_config *cfg, const config_setting_t *wall,
                           bool grid_ok)
{
    const config_setting_t *list = list_member(wall, "displays");
    int n = list ? config_setting_length(list) : 0;
    cfg->displays = xcalloc((size_t)n, sizeof *cfg->displays);
    cfg->display_count = 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        char p[SPATH];
        snprintf(p, sizeof p, "wall.displays[%d]", i);
        if (!config_setting_is_group(g)) {
            fail(L, line_of(g),
                 "%s: expected a group { display = N; panels = [x, y, columns, rows]; }", p);
            continue;
        }
        struct display_in in = {.panels = {0}};
        if (!walk(L, g, p, display_keys, &in))
            continue;
        const config_setting_t *ps = member(g, "panels");
        in.d.panel_x = in.panels[0];
        in.d.panel_y = in.panels[1];
        in.d.columns = in.panels[2];
        in.d.rows = in.panels[3];
        if (in.d.columns < 1 || in.d.rows < 1) {
            fail(L, line_of(ps), "%s.panels: columns and rows must be >= 1, got [%d, %d, %d, %d]",
                 p, in.panels[0], in.panels[1], in.panels[2], in.panels[3]);
            continue;
        }
        if (grid_ok &&
            (in.d.panel_x + in.d.columns > cfg->columns || in.d.panel_y + in.d.rows > cfg->rows)) {
            fail(L, line_of(ps), "%s.panels: [%d, %d, %d, %d] lies outside the %dx%d panel grid", p,
                 in.panels[0], in.panels[1], in.panels[2], in.panels[3], cfg->columns, cfg->rows);
            continue;
        }
        bool clash = false;
        for (int j = 0; j < cfg->display_count && !clash; j++) {
            const struct vw_display_cfg *o = &cfg->displays[j];
            if (o->display == in.d.display) {
                fail(L, line_of(member(g, "display")),
                     "%s.display: display %d is already used (line %d)", p, in.d.display,
                     line_of(config_setting_get_elem(list, (unsigned)j)));
                clash = true;
            } else if (in.d.panel_x < o->panel_x + o->columns &&
                       o->panel_x < in.d.panel_x + in.d.columns &&
                       in.d.panel_y < o->panel_y + o->rows &&
                       o->panel_y < in.d.panel_y + in.d.rows) {
                fail(L, line_of(ps), "%s.panels: overlaps the panels of display %d", p, o->display);
                clash = true;
            }
        }
        if (!clash)
            cfg->displays[cfg->display_count++] = in.d;
    }
    if (cfg->output && !strcmp(cfg->output, "displays") && n == 0) {
        const config_setting_t *out = member(wall, "output");
        fail(
            L, line_of(out),
            "wall.output: \"displays\" needs wall.displays = ( { display = 0; panels = [x, y, columns, rows]; }, "
            "... )");
    }
}

static void read_sources(struct loader *L, struct vw_config *cfg, const config_setting_t *root)
{
    const config_setting_t *list = list_member(root, "sources");
    int n = list ? config_setting_length(list) : 0;
    cfg->sources = xcalloc((size_t)n, sizeof *cfg->sources);
    cfg->source_count = n;
    for (int i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        struct vw_source_cfg *src = &cfg->sources[i];
        src->stall_timeout = 3;
        src->linger = 10;
        src->hwaccel = cfg->hwaccel;
        src->substream_ratio = cfg->substream_ratio;
        src->transport = xstrdup("tcp");
        src->line = line_of(g);
        char p[SPATH];
        snprintf(p, sizeof p, "sources[%d]", i);
        if (!config_setting_is_group(g)) {
            fail(L, line_of(g), "%s: expected a group { id = \"...\"; url = \"...\"; }", p);
            continue;
        }
        walk(L, g, p, source_keys, src);
        if (!src->id)
            continue;
        if (!src->name)
            src->name = xstrdup(src->id);
        for (int j = 0; j < i; j++) {
            if (cfg->sources[j].id && !strcmp(cfg->sources[j].id, src->id)) {
                fail(L, line_of(member(g, "id")),
                     "%s.id: duplicate source id '%s' (first at line %d)", p, src->id,
                     cfg->sources[j].line);
                break;
            }
        }
    }
}

static void read_tile(struct loader *L, const struct vw_config *cfg, const struct scene_in *sc,
                      bool wall_ok, const config_setting_t *g, const char *p,
                      struct vw_tile_cfg *out)
{
    /* Sentinels: a value the walker did not store (absent or invalid) stays out of range. */
    struct tile_in in = {
        .t = {.source = -1, .fit = VW_FIT_FIT, .label = cfg->labels, .line = line_of(g)},
        .rect = {NAN, NAN, NAN, NAN},
        .cell = {-1, -1},
        .span = {1, 1}};
    walk(L, g, p, tile_keys, &in);
    const config_setting_t *rect = member(g, "rect"), *cell = member(g, "cell"),
                           *span = member(g, "span");
    bool rect_ok =
        !isnan(in.rect[0]) && !isnan(in.rect[1]) && !isnan(in.rect[2]) && !isnan(in.rect[3]);
    bool cell_ok = in.cell[0] >= 0 && in.cell[1] >= 0 && in.span[0] >= 1 && in.span[1] >= 1;
    if (span && !cell_ok)
        in.span[0] = in.span[1] = 0;

    if (in.source) {
        in.t.source = vw_config_find_source(cfg, in.source);
        if (in.t.source < 0)
            fail(L, line_of(member(g, "source")), "%s.source: unknown source '%s'", p, in.source);
    }

    if (rect && cell) {
        fail(L, line_of(cell), "%s: give either rect or cell, not both", p);
    } else if (!rect && !cell) {
        fail(L, line_of(g), "missing key 'rect' (or 'cell') in %s", p);
    } else if (span && !cell) {
        fail(L, line_of(span), "%s.span: span goes with cell; a rect gives its own size", p);
    } else if (cell && cell_ok) {
        if (!sc->grid[0] || !sc->grid[1]) {
            if (!sc->grid_given) /* else it is broken, and already reported */
                fail(L, line_of(cell), "%s.cell: needs the scene's grid = [columns, rows]", p);
        } else if (in.cell[0] + in.span[0] > sc->grid[0] || in.cell[1] + in.span[1] > sc->grid[1]) {
            fail(L, line_of(cell),
                 "%s.cell: cell [%d, %d] with span [%d, %d] lies outside the scene's %dx%d grid", p,
                 in.cell[0], in.cell[1], in.span[0], in.span[1], sc->grid[0], sc->grid[1]);
        } else if (wall_ok) {
            double kx = (double)cfg->columns / sc->grid[0], ky = (double)cfg->rows / sc->grid[1];
            in.t.rect = (struct vw_rect){in.cell[0] * kx, in.cell[1] * ky, in.span[0] * kx,
                                         in.span[1] * ky};
        }
    } else if (rect && rect_ok) {
        struct vw_rect r = {in.rect[0], in.rect[1], in.rect[2], in.rect[3]};
        if (r.w <= 0 || r.h <= 0)
            fail(L, line_of(rect), "%s.rect: width and height must be > 0, got [%g, %g, %g, %g]", p,
                 r.x, r.y, r.w, r.h);
        else if (wall_ok &&
                 (r.x < -RECT_EPS || r.y < -RECT_EPS || r.x + r.w > cfg->columns + RECT_EPS ||
                  r.y + r.h > cfg->rows + RECT_EPS))
            fail(L, line_of(rect), "%s.rect: [%g, %g, %g, %g] lies outside the %dx%d panel wall", p,
                 r.x, r.y, r.w, r.h, cfg->columns, cfg->rows);
        in.t.rect = r;
    }
    free(in.source);
    *out = in.t;
}

static void read_scenes(struct loader *L, struct vw_config *cfg, const config_setting_t *root,
                        bool wall_ok)
{
    const config_setting_t *list = list_member(root, "scenes");
    if (!list)
        return; /* missing or the wrong type: already reported */
    int n = config_setting_length(list);
    if (n == 0)
        fail(L, line_of(list), "scenes: expected at least one scene");
    cfg->scenes = xcalloc((size_t)n, sizeof *cfg->scenes);
    cfg->scene_count = n;
    int first_default = -1;
    for (int i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        struct vw_scene_cfg *out = &cfg->scenes[i];
        char p[SPATH];
        snprintf(p, sizeof p, "scenes[%d]", i);
        out->line = line_of(g);
        if (!config_setting_is_group(g)) {
            fail(L, line_of(g), "%s: expected a group { id = \"...\"; tiles = ( ... ); }", p);
            continue;
        }
        struct scene_in in = {.s = {.line = line_of(g)}};
        walk(L, g, p, scene_keys, &in);
        in.grid_given = member(g, "grid") != NULL;
        *out = in.s;
        if (out->id && !out->name)
            out->name = xstrdup(out->id);

        for (int j = 0; out->id && j < i; j++) {
            if (cfg->scenes[j].id && !strcmp(cfg->scenes[j].id, out->id)) {
                fail(L, line_of(member(g, "id")),
                     "%s.id: duplicate scene id '%s' (first at line %d)", p, out->id,
                     cfg->scenes[j].line);
                break;
            }
        }
        if (out->is_default) {
            if (first_default < 0) {
                first_default = i;
            } else {
                const struct vw_scene_cfg *f = &cfg->scenes[first_default];
                fail(L, line_of(member(g, "default")),
                     "%s.default: more than one default scene (the first is '%s' at line %d)", p,
                     f->id ? f->id : "?", f->line);
            }
        }

        const config_setting_t *tiles = list_member(g, "tiles");
        int tn = tiles ? config_setting_length(tiles) : 0;
        out->tiles = xcalloc((size_t)tn, sizeof *out->tiles);
        out->tile_count = tn;
        for (int t = 0; t < tn; t++) {
            const config_setting_t *tg = config_setting_get_elem(tiles, (unsigned)t);
            char tp[SPATH + 32];
            snprintf(tp, sizeof tp, "%s.tiles[%d]", p, t);
            if (!config_setting_is_group(tg)) {
                out->tiles[t] = (struct vw_tile_cfg){.source = -1, .line = line_of(tg)};
                fail(L, line_of(tg),
                     "%s: expected a group { source = \"...\"; rect = [x, y, w, h]; }", tp);
                continue;
            }
            read_tile(L, cfg, &in, wall_ok, tg, tp, &out->tiles[t]);
            const char *tid = out->tiles[t].id;
            for (int u = 0; tid && u < t; u++) {
                if (out->tiles[u].id && !strcmp(out->tiles[u].id, tid)) {
                    fail(L, line_of(member(tg, "id")),
                         "%s.id: duplicate tile id '%s' in scene (first at line %d)", tp, tid,
                         out->tiles[u].line);
                    break;
                }
            }
        }
    }
    cfg->default_scene = first_default < 0 ? 0 : first_default;
}

/* "unix:PATH" or "tcp:HOST:PORT" */
static bool valid_endpoint(const char *s)
{
    if (!strncmp(s, "unix:", 5))
        return s[5] != '\0';
    if (strncmp(s, "tcp:", 4))
        return false;
    const char *host = s + 4, *colon = strrchr(host, ':');
    if (!colon || colon == host || !colon[1])
        return false;
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    return !errno && !*end && port >= 1 && port <= 65535;
}

static void check_control(struct loader *L, const struct vw_config *cfg,
                          const config_setting_t *root)
{
    const config_setting_t *control = member(root, "control");
    const config_setting_t *listen = list_member(control, "listen");
    if (!listen || config_setting_length(listen) != cfg->control.listen_count)
        return; /* wrong type: already reported */
    for (int i = 0; i < cfg->control.listen_count; i++) {
        if (!valid_endpoint(cfg->control.listen[i]))
            fail(L, line_of(config_setting_get_elem(listen, (unsigned)i)),
                 "control.listen[%d]: expected \"unix:PATH\" or \"tcp:HOST:PORT\", got \"%s\"", i,
                 cfg->control.listen[i]);
    }
}

/* The file's name without folder or extension, as the wall's name when it has none. */
static char *stem_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *s = xstrdup(slash ? slash + 1 : path);
    char *dot = strrchr(s, '.');
    if (dot && dot != s)
        *dot = '\0';
    return s;
}

/* ---- public ---- */

struct vw_config *vw_config_load(const char *path, struct vw_errors *errs)
{
    struct loader L = {.path = path};
    struct vw_config *cfg = xcalloc(1, sizeof *cfg);
    cfg->path = xstrdup(path);
    cfg->dir = dir_of(path);
    cfg->labels = true;
    cfg->hwaccel = VW_HWACCEL_NONE;
    cfg->substream_ratio = 4;
    cfg->output = xstrdup("window");
    L.dir = cfg->dir;

    config_t lc;
    config_init(&lc);

    FILE *f = fopen(path, "r");
    struct stat st;
    if (!f) {
        fail(&L, 0, "cannot open: %s", strerror(errno));
        goto out;
    }
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fail(&L, 0, "cannot open: %s", strerror(EISDIR));
        fclose(f);
        goto out;
    }
    config_set_include_dir(&lc, cfg->dir);
    int read_ok = config_read(&lc, f);
    fclose(f);
    if (!read_ok) {
        const char *text = config_error_text(&lc) ? config_error_text(&lc) : "unreadable";
        const char *file = config_error_file(&lc);
        if (file && strcmp(file, path)) {
            /* In an @include'd file: name that file. */
            L.path = file;
            fail(&L, config_error_line(&lc), "syntax error: %s", text);
            L.path = path;
        } else if (!strcmp(text, "syntax error")) {
            fail(&L, config_error_line(&lc), "syntax error");
        } else {
            fail(&L, config_error_line(&lc), "syntax error: %s", text);
        }
        goto out;
    }

    const config_setting_t *root = config_root_setting(&lc);
    walk(&L, root, "", root_keys, cfg);

    const config_setting_t *wall = member(root, "wall");
    if (wall && !config_setting_is_group(wall))
        wall = NULL;
    bool wall_ok = false;
    if (cfg->columns >= 1 && cfg->rows >= 1) {
        int panels = cfg->columns * cfg->rows;
        if (panels > MAX_PANELS)
            fail(&L, line_of(member(wall, "grid")), "wall.grid: 1..%d panels in all, got %d",
                 MAX_PANELS, panels);
        else
            wall_ok = true;
    }
    if (!cfg->name)
        cfg->name = stem_of(path);
    if (!cfg->label_size)
        cfg->label_size = cfg->screen_h / 30 > 12 ? cfg->screen_h / 30 : 12;
    if (wall)
        check_displays(&L, cfg, wall, wall_ok);
    read_sources(&L, cfg, root);
    read_scenes(&L, cfg, root, wall_ok);
    check_control(&L, cfg, root);

out:
    config_destroy(&lc);
    bool failed = L.nerr > 0;
    flush_errors(&L, errs);
    if (failed) {
        vw_config_destroy(cfg);
        return NULL;
    }
    return cfg;
}

void vw_config_destroy(struct vw_config *cfg)
{
    if (!cfg)
        return;
    for (int i = 0; i < cfg->source_count; i++) {
        struct vw_source_cfg *s = &cfg->sources[i];
        free(s->id);
        free(s->name);
        free(s->url);
        free(s->substream);
        free(s->transport);
    }
    free(cfg->sources);
    for (int i = 0; i < cfg->scene_count; i++) {
        struct vw_scene_cfg *sc = &cfg->scenes[i];
        for (int t = 0; t < sc->tile_count; t++)
            free(sc->tiles[t].id);
        free(sc->tiles);
        free(sc->id);
        free(sc->name);
    }
    free(cfg->scenes);
    for (int i = 0; i < cfg->control.listen_count; i++)
        free(cfg->control.listen[i]);
    free(cfg->control.listen);
    free(cfg->control.token);
    free(cfg->control.screenshot_dir);
    free(cfg->control.socket_group);
    free(cfg->control.http);
    free(cfg->control.http_cert);
    free(cfg->control.http_key);
    free(cfg->displays);
    free(cfg->name);
    free(cfg->font);
    free(cfg->output);
    free(cfg->path);
    free(cfg->dir);
    free(cfg);
}

int vw_config_find_source(const struct vw_config *cfg, const char *id)
{
    for (int i = 0; i < cfg->source_count; i++)
        if (cfg->sources[i].id && !strcmp(cfg->sources[i].id, id))
            return i;
    return -1;
}

int vw_config_find_scene(const struct vw_config *cfg, const char *id)
{
    for (int i = 0; i < cfg->scene_count; i++)
        if (cfg->scenes[i].id && !strcmp(cfg->scenes[i].id, id))
            return i;
    return -1;
}
