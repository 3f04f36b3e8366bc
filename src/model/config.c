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
#include <fcntl.h>
#include <grp.h>
#include <ctype.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/mem.h"
#include "base/strmap.h"
#include "base/utf8.h"
#include "model/catalog.h"
#include "model/geometry.h"

#define MAX_PANELS 64
#define RECT_EPS 1e-6 /* slack for rects computed in floating point */
#define SPATH 256     /* longest setting path in a message, e.g. "scenes[2].tiles[11].rect" */

static char *resolve_path(const char *dir, const char *rel);

/* ---- files and errors ---- */

#define MAX_FILE_BYTES (64u << 20) /* a wall file, an include or a catalog */
#define MAX_INCLUDE_DEPTH 10
#define MAX_FILES 256

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1u
#endif

/* A file the loader read: files[0] is the wall file, then the @include'd files in the order
 * they were found, then the catalogs. */
struct file {
    char *path;  /* as shown in messages: the wall file as given, others resolved against its
                    folder */
    char *alias; /* includes: "/proc/self/fd/N", the name libconfig reads it by; else NULL */
    char *text;  /* the contents without a BOM (includes rewritten), NUL-terminated; or NULL */
    size_t len;
    int fd;     /* includes: the memfd behind alias, else -1 */
    int *lines; /* offset of each line's start, built when a message needs it */
    int nlines;
};

struct err_item {
    int file; /* index into loader.files */
    int line; /* 0: the file as a whole */
    int seq;  /* order found, to keep the sort stable */
    char *msg;
};

struct loader {
    const char *path; /* the wall file as given */
    const char *dir;  /* its folder */
    struct err_item *errs;
    int nerr, cap;
    struct file files[MAX_FILES];
    int nfiles;
    uint64_t hash; /* FNV-1a over the bytes of every file read */
    struct vw_config *cfg;
    int *src_file; /* per source: the file it was defined in */
    int src_cap;
    int catalog_file; /* while a catalog is parsed: its index in files */
};

/* A file named in the wall file, resolved against its folder, as messages show it:
 * "cams.cfg" rather than "./cams.cfg". The same file as resolve_path names. */
static char *shown_path(const char *dir, const char *rel)
{
    return strcmp(dir, ".") ? resolve_path(dir, rel) : vw_xstrdup(rel);
}

/* strerror is not thread-safe; the loader may run on a worker thread. */
static const char *errno_text(int e, char *buf, size_t n)
{
    if (strerror_r(e, buf, n) != 0)
        snprintf(buf, n, "error %d", e);
    return buf;
}

static void fail_in(struct loader *L, int file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail_in(struct loader *L, int file, int line, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);

    const char *path = file < L->nfiles ? L->files[file].path : L->path;
    char prefix[64];
    if (line > 0)
        snprintf(prefix, sizeof prefix, ":%d", line);
    else
        prefix[0] = '\0';
    size_t n = strlen(path) + strlen(prefix) + strlen(text) + 3;
    char *msg = vw_xmalloc(n);
    snprintf(msg, n, "%s%s: %s", path, prefix, text);

    if (L->nerr == L->cap) {
        L->cap = L->cap ? L->cap * 2 : 16;
        L->errs = vw_xrealloc(L->errs, (size_t)L->cap * sizeof *L->errs);
    }
    L->errs[L->nerr] = (struct err_item){file, line, L->nerr, msg};
    L->nerr++;
}

/* A problem in the wall file itself. */
#define fail(L, line, ...) fail_in((L), 0, (line), __VA_ARGS__)

static int line_of(const config_setting_t *s)
{
    return s ? (int)config_setting_source_line(s) : 0;
}

/* The file a setting was read from (an @include'd one, or the wall file). */
static int file_of(const struct loader *L, const config_setting_t *s)
{
    const char *f = s ? config_setting_source_file(s) : NULL;
    if (!f)
        return 0;
    for (int i = 1; i < L->nfiles; i++)
        if (L->files[i].alias && (L->files[i].alias == f || !strcmp(L->files[i].alias, f)))
            return i;
    return 0;
}

/* A problem at setting s (its file and line); s may be NULL (the wall file as a whole). */
#define fail_at(L, s, ...) fail_in((L), file_of((L), (s)), line_of(s), __VA_ARGS__)

static int by_place(const void *a, const void *b)
{
    const struct err_item *x = a, *y = b;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Hands the messages to `errs` in file order and empties the loader's list. */
static void flush_errors(struct loader *L, struct vw_errors *errs)
{
    if (!L->nerr)
        return;
    qsort(L->errs, (size_t)L->nerr, sizeof *L->errs, by_place);
    for (int i = 0; i < L->nerr; i++) {
        vw_errors_add(errs, "%s", L->errs[i].msg);
        free(L->errs[i].msg);
    }
    free(L->errs);
    L->errs = NULL;
    L->nerr = L->cap = 0;
}

/* "line 12" when the place is in file `here`, else "cameras.csv:12". */
static const char *place(const struct loader *L, int file, int line, int here, char *buf, size_t n)
{
    if (file == here)
        snprintf(buf, n, "line %d", line);
    else
        snprintf(buf, n, "%s:%d", L->files[file].path, line);
    return buf;
}

static void hash_bytes(struct loader *L, const char *p, size_t n)
{
    uint64_t h = L->hash;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    L->hash = h;
}

static int add_file(struct loader *L, char *path)
{
    if (L->nfiles == MAX_FILES) {
        fail(L, 0, "more than %d files (includes and catalogs) in all", MAX_FILES);
        free(path);
        return -1;
    }
    L->files[L->nfiles] = (struct file){.path = path, .fd = -1};
    return L->nfiles++;
}

/* Reads files[idx] whole into its text, without blocking: opened with O_NONBLOCK, anything
 * but a regular file refused before a byte is read (a FIFO would wait for a writer). Checks
 * that it is UTF-8, skips a BOM, adds its bytes to the hash. `from` ("" or " (@include at
 * wall.cfg:4)") is added to the messages that concern the file as a whole. */
static bool read_checked(struct loader *L, int idx, const char *from)
{
    struct file *f = &L->files[idx];
    char eb[128];
    int fd = open(f->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        fail_in(L, idx, 0, "cannot open: %s%s", errno_text(errno, eb, sizeof eb), from);
        return false;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        fail_in(L, idx, 0, "cannot open: %s%s", errno_text(errno, eb, sizeof eb), from);
        close(fd);
        return false;
    }
    if (S_ISDIR(st.st_mode)) {
        fail_in(L, idx, 0, "cannot open: %s%s", errno_text(EISDIR, eb, sizeof eb), from);
        close(fd);
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        fail_in(L, idx, 0, "cannot open: not a regular file%s", from);
        close(fd);
        return false;
    }
    if (st.st_size > (off_t)MAX_FILE_BYTES) {
        fail_in(L, idx, 0, "cannot open: larger than %u MiB%s", MAX_FILE_BYTES >> 20, from);
        close(fd);
        return false;
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *buf = vw_xmalloc(cap);
    for (;;) {
        if (len + 1 == cap) {
            if (cap > MAX_FILE_BYTES) {
                fail_in(L, idx, 0, "cannot open: larger than %u MiB%s", MAX_FILE_BYTES >> 20, from);
                free(buf);
                close(fd);
                return false;
            }
            cap *= 2;
            buf = vw_xrealloc(buf, cap);
        }
        ssize_t got = read(fd, buf + len, cap - 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            fail_in(L, idx, 0, "cannot read: %s%s", errno_text(errno, eb, sizeof eb), from);
            free(buf);
            close(fd);
            return false;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    close(fd);
    hash_bytes(L, buf, len);

    size_t bad;
    if (!vw_utf8_valid(buf, len, &bad)) {
        int line = 1;
        for (size_t i = 0; i < bad; i++)
            line += buf[i] == '\n';
        fail_in(L, idx, line, "not UTF-8 (byte 0x%02X); save the file as UTF-8",
                (unsigned char)buf[bad]);
        free(buf);
        return false;
    }
    size_t skip = vw_utf8_bom(buf, len);
    memmove(buf, buf + skip, len - skip);
    len -= skip;
    buf[len] = '\0';
    f->text = buf;
    f->len = len;
    return true;
}

/* The text of line `line` (1-based) of files[idx], its length in *n; NULL when unknown. */
static const char *line_text(struct loader *L, int idx, int line, size_t *n)
{
    struct file *f = &L->files[idx];
    if (!f->text || line < 1)
        return NULL;
    if (!f->lines) {
        int count = 1;
        for (size_t i = 0; i < f->len; i++)
            count += f->text[i] == '\n';
        f->lines = vw_xmalloc((size_t)count * sizeof *f->lines);
        f->lines[0] = 0;
        f->nlines = 1;
        for (size_t i = 0; i < f->len; i++)
            if (f->text[i] == '\n')
                f->lines[f->nlines++] = (int)(i + 1);
    }
    if (line > f->nlines)
        return NULL;
    const char *s = f->text + f->lines[line - 1];
    const char *e = memchr(s, '\n', f->len - (size_t)(s - f->text));
    *n = e ? (size_t)(e - s) : f->len - (size_t)(s - f->text);
    return s;
}

/* ---- @include ---- */

/* Rewrites each `@include "x.cfg"` of files[idx] (x resolved against the wall file's folder,
 * as libconfig resolves it) to `@include "/proc/self/fd/N"`, a memfd holding x.cfg as read
 * and checked here, its own includes rewritten the same way. So libconfig never opens a file
 * itself: every file it reads was checked to be a regular UTF-8 file (and its BOM skipped)
 * first. Lines keep their numbers. */
static void expand_includes(struct loader *L, int idx, int depth)
{
    const char *t = L->files[idx].text;
    size_t n = L->files[idx].len;
    char *out = NULL; /* the rewritten text, once there is an include */
    size_t olen = 0, ocap = 0, copied = 0;
    bool in_comment = false;
    int line = 1;
    for (size_t i = 0; i < n; line++) {
        size_t end = i;
        while (end < n && t[end] != '\n')
            end++;
        if (!in_comment) {
            size_t j = i;
            while (j < end && (t[j] == ' ' || t[j] == '\t'))
                j++;
            size_t k = j + 8;
            if (end - j > 9 && !memcmp(t + j, "@include", 8) && (t[k] == ' ' || t[k] == '\t')) {
                while (k < end && (t[k] == ' ' || t[k] == '\t'))
                    k++;
                const char *q = k < end && t[k] == '"' ? memchr(t + k + 1, '"', end - k - 1) : NULL;
                if (q) {
                    size_t ps = k + 1, pe = (size_t)(q - t);
                    char *rel = vw_xmalloc(pe - ps + 1);
                    memcpy(rel, t + ps, pe - ps);
                    rel[pe - ps] = '\0';
                    char alias[64] = "/nonexistent";
                    char from[SPATH + 64];
                    snprintf(from, sizeof from, " (@include at %s:%d)", L->files[idx].path, line);
                    int c = -1;
                    if (depth >= MAX_INCLUDE_DEPTH)
                        fail_in(L, idx, line,
                                "@include \"%s\": includes nested more than %d deep (does a "
                                "file include itself?)",
                                rel, MAX_INCLUDE_DEPTH);
                    else if (!*rel)
                        fail_in(L, idx, line, "@include \"\": expected a file name");
                    else
                        c = add_file(L, shown_path(L->dir, rel));
                    free(rel);
                    if (c >= 0 && read_checked(L, c, from)) {
                        expand_includes(L, c, depth + 1);
                        struct file *cf = &L->files[c];
                        int fd = (int)syscall(SYS_memfd_create, "vwall-include", MFD_CLOEXEC);
                        bool ok = fd >= 0;
                        for (size_t w = 0; ok && w < cf->len;) {
                            ssize_t got = write(fd, cf->text + w, cf->len - w);
                            if (got < 0 && errno == EINTR)
                                continue;
                            ok = got > 0;
                            w += ok ? (size_t)got : 0;
                        }
                        if (ok) {
                            cf->fd = fd;
                            snprintf(alias, sizeof alias, "/proc/self/fd/%d", fd);
                            cf->alias = vw_xstrdup(alias);
                        } else {
                            char eb[128];
                            fail_in(L, c, 0, "cannot hand the file to libconfig: %s%s",
                                    errno_text(errno, eb, sizeof eb), from);
                            if (fd >= 0)
                                close(fd);
                        }
                    }
                    /* Copy up to the path, then the alias in its place. */
                    size_t need = olen + (ps - copied) + strlen(alias) + (n - pe) + 1;
                    if (need > ocap) {
                        ocap = need * 2;
                        out = vw_xrealloc(out, ocap);
                    }
                    memcpy(out + olen, t + copied, ps - copied);
                    olen += ps - copied;
                    memcpy(out + olen, alias, strlen(alias));
                    olen += strlen(alias);
                    copied = pe;
                }
            }
        }
        /* Follow comments and strings to know whether the next line starts in a comment. */
        for (size_t j = i; j < end; j++) {
            if (in_comment) {
                if (t[j] == '*' && j + 1 < end && t[j + 1] == '/') {
                    in_comment = false;
                    j++;
                }
            } else if (t[j] == '"') {
                for (j++; j < end && t[j] != '"'; j++)
                    if (t[j] == '\\')
                        j++;
            } else if (t[j] == '#' || (t[j] == '/' && j + 1 < end && t[j + 1] == '/')) {
                break;
            } else if (t[j] == '/' && j + 1 < end && t[j + 1] == '*') {
                in_comment = true;
                j++;
            }
        }
        i = end + 1;
    }
    if (!out)
        return;
    size_t need = olen + (n - copied) + 1;
    if (need > ocap)
        out = vw_xrealloc(out, need);
    memcpy(out + olen, t + copied, n - copied);
    olen += n - copied;
    out[olen] = '\0';
    free(L->files[idx].text);
    L->files[idx].text = out;
    L->files[idx].len = olen;
    free(L->files[idx].lines); /* same lines, new offsets */
    L->files[idx].lines = NULL;
}

static void close_files(struct loader *L)
{
    for (int i = 0; i < L->nfiles; i++) {
        struct file *f = &L->files[i];
        if (f->fd >= 0)
            close(f->fd);
        free(f->path);
        free(f->alias);
        free(f->text);
        free(f->lines);
    }
    L->nfiles = 0;
}

/* ---- paths ---- */

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return vw_xstrdup(".");
    if (slash == path)
        return vw_xstrdup("/");
    size_t n = (size_t)(slash - path);
    char *d = vw_xmalloc(n + 1);
    memcpy(d, path, n);
    d[n] = '\0';
    return d;
}

/* `rel` joined to `dir`; an absolute `rel` is kept as it is. */
static char *resolve_path(const char *dir, const char *rel)
{
    if (rel[0] == '/')
        return vw_xstrdup(rel);
    size_t dn = strlen(dir);
    const char *sep = dn && dir[dn - 1] == '/' ? "" : "/";
    size_t n = dn + strlen(sep) + strlen(rel) + 1;
    char *p = vw_xmalloc(n);
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
    return has_scheme(url) ? vw_xstrdup(url) : resolve_path(dir, url);
}

/* ---- the key tables ---- */

enum ktype {
    T_INT,     /* integer → int */
    T_NUM,     /* integer or float → double */
    T_BOOL,    /* → bool */
    T_STR,     /* → char * */
    T_PATH,    /* file path, resolved against the wall file's folder → char * */
    T_FILE,    /* T_PATH of a file a library opens by path later: if it exists, it must be a
                  regular file (a FIFO would block whoever opens it) */
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
    const char *unless; /* required unless this sibling key is there */
    bool nonempty;      /* strings: "" is an error */
    bool ranged;        /* numbers (each element for T_INTS/T_NUMS) must lie in min..max */
    double min, max;    /* both finite: every number has a range */
    const char *unit;   /* shown after the range: "s", "px"; or NULL */
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
#define UNIT(u) .unit = (u)
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
    {"width", T_INT, REQUIRED, RANGE(16, 16384), UNIT("px"), AT(C, screen_w)},
    {"height", T_INT, REQUIRED, RANGE(16, 16384), UNIT("px"), AT(C, screen_h)},
    {0},
};
static const struct key grid_keys[] = {
    {"columns", T_INT, REQUIRED, RANGE(1, MAX_PANELS), AT(C, columns)},
    {"rows", T_INT, REQUIRED, RANGE(1, MAX_PANELS), AT(C, rows)},
    {0},
};
static const struct key bezel_keys[] = {
    {"x", T_INT, RANGE(0, 16384), UNIT("px"), AT(C, bezel_x)},
    {"y", T_INT, RANGE(0, 16384), UNIT("px"), AT(C, bezel_y)},
    {0},
};
static const struct key wall_keys[] = {
    {"name", T_STR, AT(C, name)},
    {"screen", T_GROUP, REQUIRED, .sub = screen_keys},
    {"grid", T_GROUP, REQUIRED, .sub = grid_keys},
    {"bezel", T_GROUP, .sub = bezel_keys},
    {"labels", T_BOOL, AT(C, labels)},
    {"font", T_FILE, NONEMPTY, AT(C, font)},
    {"label_size", T_INT, RANGE(4, 1024), UNIT("px"), AT(C, label_size)},
    {"hwaccel", T_ENUM, .choices = hwaccel_names, AT(C, hwaccel)},
    {"substream_ratio", T_NUM, RANGE(1, 1e6), AT(C, substream_ratio)},
    {"output", T_ENUMSTR, .choices = output_names, AT(C, output)},
    {"state_dir", T_PATH, NONEMPTY, AT(C, state_dir)},
    {"displays", T_LIST, OPTIONAL},
    {0},
};
static const struct key control_keys[] = {
    {"listen", T_STRS, AT(C, control.listen), .off_count = offsetof(C, control.listen_count)},
    {"token", T_STR, NONEMPTY, AT(C, control.token)},
    {"screenshot_dir", T_PATH, NONEMPTY, AT(C, control.screenshot_dir)},
    {"socket_group", T_STR, NONEMPTY, AT(C, control.socket_group)},
    {"seats", T_LIST, OPTIONAL},
    {"http", T_STR, NONEMPTY, AT(C, control.http)},
    {"http_cert", T_FILE, NONEMPTY, AT(C, control.http_cert)},
    {"http_key", T_FILE, NONEMPTY, AT(C, control.http_key)},
    {0},
};
static const struct key cluster_tls_keys[] = {
    {"ca", T_FILE, NONEMPTY, AT(C, cluster.tls_ca)},
    {"cert", T_FILE, NONEMPTY, AT(C, cluster.tls_cert)},
    {"key", T_FILE, NONEMPTY, AT(C, cluster.tls_key)},
    {0},
};
static const struct key cluster_keys[] = {
    {"nats", T_STRS, REQUIRED, AT(C, cluster.nats), .off_count = offsetof(C, cluster.nats_count)},
    {"name", T_STR, REQUIRED, NONEMPTY, AT(C, cluster.name)},
    {"lead_ms", T_INT, RANGE(0, 10000), UNIT("ms"), AT(C, cluster.lead_ms)},
    {"playout_ms", T_INT, RANGE(0, 10000), UNIT("ms"), AT(C, cluster.playout_ms)},
    {"nodes", T_LIST, REQUIRED},
    {"user", T_STR, NONEMPTY, AT(C, cluster.user)},
    {"password", T_STR, NONEMPTY, AT(C, cluster.password)},
    {"token", T_STR, NONEMPTY, AT(C, cluster.token)},
    {"nkey", T_STR, NONEMPTY, AT(C, cluster.nkey)},
    {"nkey_seed", T_FILE, NONEMPTY, AT(C, cluster.nkey_seed)},
    {"creds", T_FILE, NONEMPTY, AT(C, cluster.creds)},
    {"tls", T_GROUP, .sub = cluster_tls_keys},
    {0},
};
static const struct key root_keys[] = {
    {"wall", T_GROUP, REQUIRED, .sub = wall_keys},
    {"sources", T_LIST, REQUIRED, .unless = "catalog"},
    {"catalog", T_STRS, AT(C, catalogs), .off_count = offsetof(C, catalog_count)},
    {"scenes", T_LIST, REQUIRED},
    {"control", T_GROUP, .sub = control_keys},
    {"cluster", T_GROUP, .sub = cluster_keys},
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
    {"stall_timeout", T_NUM, RANGE(0.5, 3600), UNIT("s"), AT(S, stall_timeout)},
    {"linger", T_NUM, RANGE(0, 86400), UNIT("s"), AT(S, linger)},
    {"hwaccel", T_ENUM, .choices = hwaccel_names, AT(S, hwaccel)},
    {"substream_ratio", T_NUM, RANGE(1, 1e6), AT(S, substream_ratio)},
    {"transport", T_ENUMSTR, .choices = transport_names, AT(S, transport)},
    {"group", T_STR, NONEMPTY, AT(S, group)},
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
    {"rect", T_NUMS, RANGE(-MAX_PANELS, MAX_PANELS), .count = 4, .shape = "[x, y, w, h]",
     AT(T, rect)},
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

static const char *const role_names[] = {"view", "operate", "admin", NULL}; /* enum vw_role */
_Static_assert(VW_ROLE_VIEW == 0 && VW_ROLE_OPERATE == 1 && VW_ROLE_ADMIN == 2 &&
                   sizeof(enum vw_role) == sizeof(int),
               "role_names follows enum vw_role");

static const struct key seat_keys[] = {
    {"name", T_STR, REQUIRED, NONEMPTY, AT(struct vw_seat_cfg, name)},
    {"token", T_STR, REQUIRED, NONEMPTY, AT(struct vw_seat_cfg, token)},
    {"role", T_ENUM, REQUIRED, .choices = role_names, AT(struct vw_seat_cfg, role)},
    {0},
};

static const struct key node_keys[] = {
    {"id", T_STR, REQUIRED, NONEMPTY, AT(struct vw_node_cfg, id)},
    {"panels", T_STR, REQUIRED, NONEMPTY, AT(struct vw_node_cfg, panels)},
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
    case T_FILE:
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
    return !k->ranged || (v >= k->min && v <= k->max); /* false for NaN */
}

/* A bound as a person writes it: 16384, 0.5, 1000000 (never 1e+06). */
static void fmt_bound(double v, char *buf, size_t n)
{
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%g", v);
}

/* The value of a number setting as it is written in the file (`1e308`, `0x10`,
 * `9223372036854775807`), found on the setting's line after its name; for an element of an
 * array, or when the text cannot be found, the value itself: integers as integers, floats in
 * their shortest exact form. */
static void written(struct loader *L, const config_setting_t *s, char *buf, size_t n)
{
    const char *name = config_setting_name(s);
    size_t len;
    const char *t = name ? line_text(L, file_of(L, s), line_of(s), &len) : NULL;
    size_t nl = name ? strlen(name) : 0;
    for (size_t i = 0; t && i + nl <= len; i++) {
        if (memcmp(t + i, name, nl) != 0)
            continue;
        if (i > 0 && (isalnum((unsigned char)t[i - 1]) || t[i - 1] == '_' || t[i - 1] == '-'))
            continue;
        size_t j = i + nl;
        while (j < len && (t[j] == ' ' || t[j] == '\t'))
            j++;
        if (j == len || (t[j] != '=' && t[j] != ':'))
            continue;
        j++;
        while (j < len && (t[j] == ' ' || t[j] == '\t'))
            j++;
        size_t e = j;
        while (e < len && (isalnum((unsigned char)t[e]) || strchr("+-.", t[e])))
            e++;
        if (e == j)
            break;
        if (e - j > 40)
            snprintf(buf, n, "%.*s... (%zu characters)", 24, t + j, e - j);
        else
            snprintf(buf, n, "%.*s", (int)(e - j), t + j);
        return;
    }
    if (config_setting_type(s) == CONFIG_TYPE_FLOAT) {
        double v = config_setting_get_float(s);
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, n, "%.*g", prec, v);
            if (strtod(buf, NULL) == v)
                return;
        }
    } else {
        snprintf(buf, n, "%lld", (long long)config_setting_get_int64(s));
    }
}

/* "sources[0].stall_timeout = 1e308 is out of range (0.5 to 3600 s)" */
static void fail_range(struct loader *L, const config_setting_t *s, const char *spath,
                       const struct key *k)
{
    char v[96], lo[32], hi[32];
    written(L, s, v, sizeof v);
    fmt_bound(k->min, lo, sizeof lo);
    fmt_bound(k->max, hi, sizeof hi);
    fail_at(L, s, "%s = %s is out of range (%s to %s%s%s)", spath, v, lo, hi, k->unit ? " " : "",
            k->unit ? k->unit : "");
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

/* The file is UTF-8, but an escape ("\xB1") can still make a string that is not. */
static bool utf8_ok(struct loader *L, const config_setting_t *s, const char *spath, const char *v)
{
    size_t bad;
    if (vw_utf8_valid_str(v, &bad))
        return true;
    fail_at(L, s, "%s: not UTF-8 (byte 0x%02X, written as an escape); write the text as UTF-8",
            spath, (unsigned char)v[bad]);
    return false;
}

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
            fail_range(L, s, spath, k);
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
            fail_range(L, s, spath, k);
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
    case T_FILE:
    case T_URL: {
        if (config_setting_type(s) != CONFIG_TYPE_STRING)
            break;
        const char *v = config_setting_get_string(s);
        if (k->nonempty && !*v) {
            fail_at(L, s, "%s: expected %s, got \"\"", spath, want);
            return;
        }
        if (!utf8_ok(L, s, spath, v))
            return;
        if (k->type == T_FILE) {
            char *path = resolve_path(L->dir, v);
            struct stat st; /* stat, not open: it cannot block on a FIFO */
            if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
                fail_at(L, s, "%s: %s: cannot open: not a regular file", spath, path);
                free(path);
                return;
            }
            set_string(at, path);
            return;
        }
        set_string(at, k->type == T_PATH  ? resolve_path(L->dir, v)
                       : k->type == T_URL ? resolve_url(L->dir, v)
                                          : vw_xstrdup(v));
        return;
    }
    case T_ENUM:
    case T_ENUMSTR: {
        if (config_setting_type(s) != CONFIG_TYPE_STRING)
            break;
        const char *v = config_setting_get_string(s);
        if (!utf8_ok(L, s, spath, v))
            return;
        int i = choice_index(k->choices, v);
        if (i < 0) {
            fail_at(L, s, "%s: expected %s, got \"%s\"", spath, want, v);
            return;
        }
        if (k->type == T_ENUM)
            *(int *)at = i;
        else
            set_string(at, vw_xstrdup(v));
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
                fail_range(L, e, epath, k);
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
        for (int i = 0; i < n; i++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
            char epath[SPATH + 16];
            snprintf(epath, sizeof epath, "%s[%d]", spath, i);
            if (!utf8_ok(L, e, epath, config_setting_get_string(e)))
                return;
        }
        char **v = vw_xcalloc((size_t)n, sizeof *v);
        for (int i = 0; i < n; i++)
            v[i] = vw_xstrdup(config_setting_get_string(config_setting_get_elem(s, (unsigned)i)));
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
    fail_at(L, s, "%s: expected %s", spath, want);
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
                fail_at(L, s, "unknown key '%s' in %s", name, gpath);
            else
                fail_at(L, s, "unknown key '%s' at top level", name);
            continue;
        }
        char spath[SPATH];
        join(spath, gpath, name);
        store(L, k, s, spath, base);
    }
    for (const struct key *k = keys; k->name; k++) {
        if (!k->required || config_setting_get_member(group, k->name) ||
            (k->unless && config_setting_get_member(group, k->unless)))
            continue;
        if (*gpath)
            fail_at(L, group, "missing key '%s' in %s", k->name, gpath);
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
    cfg->displays = vw_xcalloc((size_t)n, sizeof *cfg->displays);
    cfg->display_count = 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        char p[SPATH];
        snprintf(p, sizeof p, "wall.displays[%d]", i);
        if (!config_setting_is_group(g)) {
            fail_at(L, g, "%s: expected a group { display = N; panels = [x, y, columns, rows]; }",
                    p);
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
            fail_at(L, ps, "%s.panels: columns and rows must be >= 1, got [%d, %d, %d, %d]", p,
                    in.panels[0], in.panels[1], in.panels[2], in.panels[3]);
            continue;
        }
        if (grid_ok &&
            (in.d.panel_x + in.d.columns > cfg->columns || in.d.panel_y + in.d.rows > cfg->rows)) {
            fail_at(L, ps, "%s.panels: [%d, %d, %d, %d] lies outside the %dx%d panel grid", p,
                    in.panels[0], in.panels[1], in.panels[2], in.panels[3], cfg->columns,
                    cfg->rows);
            continue;
        }
        bool clash = false;
        for (int j = 0; j < cfg->display_count && !clash; j++) {
            const struct vw_display_cfg *o = &cfg->displays[j];
            if (o->display == in.d.display) {
                fail_at(L, member(g, "display"), "%s.display: display %d is already used (line %d)",
                        p, in.d.display, line_of(config_setting_get_elem(list, (unsigned)j)));
                clash = true;
            } else if (in.d.panel_x < o->panel_x + o->columns &&
                       o->panel_x < in.d.panel_x + in.d.columns &&
                       in.d.panel_y < o->panel_y + o->rows &&
                       o->panel_y < in.d.panel_y + in.d.rows) {
                fail_at(L, ps, "%s.panels: overlaps the panels of display %d", p, o->display);
                clash = true;
            }
        }
        if (!clash)
            cfg->displays[cfg->display_count++] = in.d;
    }
    if (cfg->output && !strcmp(cfg->output, "displays") && n == 0) {
        const config_setting_t *out = member(wall, "output");
        fail_at(
            L, out,
            "wall.output: \"displays\" needs wall.displays = ( { display = 0; panels = [x, y, columns, rows]; }, "
            "... )");
    }
}

/* A new source with the defaults of a `sources` entry, at the end of cfg->sources. */
static struct vw_source_cfg *add_source(struct loader *L, struct vw_config *cfg, int file, int line)
{
    if (cfg->source_count == L->src_cap) {
        L->src_cap = L->src_cap ? L->src_cap * 2 : 64;
        cfg->sources = vw_xrealloc(cfg->sources, (size_t)L->src_cap * sizeof *cfg->sources);
        L->src_file = vw_xrealloc(L->src_file, (size_t)L->src_cap * sizeof *L->src_file);
    }
    int i = cfg->source_count++;
    L->src_file[i] = file;
    struct vw_source_cfg *src = &cfg->sources[i];
    *src = (struct vw_source_cfg){
        .stall_timeout = 3,
        .linger = 10,
        .hwaccel = cfg->hwaccel,
        .substream_ratio = cfg->substream_ratio,
        .transport = vw_xstrdup("tcp"),
        .line = line,
    };
    return src;
}

/* Enters source i into the id index; a duplicate is reported at (file, line). */
static void index_source(struct loader *L, struct vw_config *cfg, int i, int file, int line,
                         const char *prefix)
{
    const char *id = cfg->sources[i].id;
    int first = vw_strmap_put(cfg->source_index, id, i);
    if (first < 0)
        return;
    char where[SPATH + 64];
    place(L, L->src_file[first], cfg->sources[first].line, file, where, sizeof where);
    fail_in(L, file, line, "%sduplicate source id '%s' (first at %s)", prefix, id, where);
}

/* "乡镇/王口镇": names separated by '/', none of them empty. */
static bool valid_group(const char *g)
{
    if (!*g || g[0] == '/' || g[strlen(g) - 1] == '/' || strstr(g, "//"))
        return false;
    return true;
}

static void read_sources(struct loader *L, struct vw_config *cfg, const config_setting_t *root)
{
    const config_setting_t *list = list_member(root, "sources");
    int n = list ? config_setting_length(list) : 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        int file = file_of(L, g);
        int idx = cfg->source_count;
        struct vw_source_cfg *src = add_source(L, cfg, file, line_of(g));
        char p[SPATH];
        snprintf(p, sizeof p, "sources[%d]", i);
        if (!config_setting_is_group(g)) {
            fail_at(L, g, "%s: expected a group { id = \"...\"; url = \"...\"; }", p);
            continue;
        }
        walk(L, g, p, source_keys, src);
        if (src->group && !valid_group(src->group)) {
            fail_at(L, member(g, "group"),
                    "%s.group: expected names separated by '/' (\"乡镇/王口镇\"), none empty, "
                    "got \"%s\"",
                    p, src->group);
        }
        if (!src->id)
            continue;
        if (!src->name)
            src->name = vw_xstrdup(src->id);
        char prefix[SPATH + 8];
        snprintf(prefix, sizeof prefix, "%s.id: ", p);
        index_source(L, cfg, idx, file, line_of(member(g, "id")), prefix);
    }
}

/* ---- catalogs ---- */

/* A control character (C0, DEL, C1) in a field: refused, it would reach labels and replies. */
static bool has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7F)
            return true;
        if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
            return true;
    }
    return false;
}

static void catalog_error(void *ctx, int line, const char *msg)
{
    struct loader *L = ctx;
    fail_in(L, L->catalog_file, line, "%s", msg);
}

static void catalog_row(void *ctx, const struct vw_catalog_row *row)
{
    struct loader *L = ctx;
    struct vw_config *cfg = L->cfg;
    int file = L->catalog_file, line = row->line;
    const char *id = row->field[VW_CATALOG_ID], *url = row->field[VW_CATALOG_URL];
    const char *name = row->field[VW_CATALOG_NAME], *sub = row->field[VW_CATALOG_SUBSTREAM];
    const char *group = row->field[VW_CATALOG_GROUP];
    bool ok = true;
    if (!*id) {
        fail_in(L, file, line, "id: expected a non-empty id");
        return;
    }
    for (int c = 0; c < VW_CATALOG_COLUMNS; c++) {
        if (row->field[c] && has_control(row->field[c])) {
            fail_in(L, file, line, "%s: a control character (a line break in quotes?) in '%s'",
                    vw_catalog_column_names[c], c == VW_CATALOG_ID ? "the id" : id);
            ok = false;
        }
    }
    if (!*url) {
        fail_in(L, file, line, "url: expected a non-empty url for '%s'", id);
        ok = false;
    }
    if (group && *group && !valid_group(group)) {
        fail_in(L, file, line,
                "group: expected names separated by '/' (\"乡镇/王口镇\"), none empty, got \"%s\"",
                group);
        ok = false;
    }
    int idx = cfg->source_count;
    struct vw_source_cfg *src = add_source(L, cfg, file, line);
    src->id = vw_xstrdup(id);
    src->name = vw_xstrdup(name && *name ? name : id);
    src->url = ok ? resolve_url(L->dir, url) : vw_xstrdup(url);
    src->substream = sub && *sub ? resolve_url(L->dir, sub) : NULL;
    src->group = group && *group ? vw_xstrdup(group) : NULL;
    index_source(L, cfg, idx, file, line, "");
}

static void read_catalogs(struct loader *L, struct vw_config *cfg, const config_setting_t *root)
{
    const config_setting_t *list = list_member(root, "catalog");
    if (!list || config_setting_length(list) != cfg->catalog_count)
        return; /* wrong type: already reported */
    for (int i = 0; i < cfg->catalog_count; i++) {
        const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
        char *rel = cfg->catalogs[i];
        cfg->catalogs[i] = resolve_path(L->dir, rel);
        if (!*rel) {
            fail_at(L, e, "catalog[%d]: expected a file name, got \"\"", i);
            free(rel);
            continue;
        }
        int c = add_file(L, shown_path(L->dir, rel));
        free(rel);
        if (c < 0)
            continue;
        char from[SPATH + 64];
        snprintf(from, sizeof from, " (catalog[%d] at %s:%d)", i, L->files[file_of(L, e)].path,
                 line_of(e));
        if (!read_checked(L, c, from))
            continue;
        L->cfg = cfg;
        L->catalog_file = c;
        struct vw_catalog_sink sink = {catalog_row, catalog_error, L};
        vw_catalog_parse(L->files[c].text, L->files[c].len, &sink);
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
            fail_at(L, member(g, "source"), "%s.source: unknown source '%s'", p, in.source);
    }

    if (rect && cell) {
        fail_at(L, cell, "%s: give either rect or cell, not both", p);
    } else if (!rect && !cell) {
        fail_at(L, g, "missing key 'rect' (or 'cell') in %s", p);
    } else if (span && !cell) {
        fail_at(L, span, "%s.span: span goes with cell; a rect gives its own size", p);
    } else if (cell && cell_ok) {
        if (!sc->grid[0] || !sc->grid[1]) {
            if (!sc->grid_given) /* else it is broken, and already reported */
                fail_at(L, cell, "%s.cell: needs the scene's grid = [columns, rows]", p);
        } else if (in.cell[0] + in.span[0] > sc->grid[0] || in.cell[1] + in.span[1] > sc->grid[1]) {
            fail_at(L, cell,
                    "%s.cell: cell [%d, %d] with span [%d, %d] lies outside the scene's %dx%d grid",
                    p, in.cell[0], in.cell[1], in.span[0], in.span[1], sc->grid[0], sc->grid[1]);
        } else if (wall_ok) {
            double kx = (double)cfg->columns / sc->grid[0], ky = (double)cfg->rows / sc->grid[1];
            in.t.rect = (struct vw_rect){in.cell[0] * kx, in.cell[1] * ky, in.span[0] * kx,
                                         in.span[1] * ky};
        }
    } else if (rect && rect_ok) {
        struct vw_rect r = {in.rect[0], in.rect[1], in.rect[2], in.rect[3]};
        if (r.w <= 0 || r.h <= 0)
            fail_at(L, rect, "%s.rect: width and height must be > 0, got [%g, %g, %g, %g]", p, r.x,
                    r.y, r.w, r.h);
        else if (wall_ok &&
                 (r.x < -RECT_EPS || r.y < -RECT_EPS || r.x + r.w > cfg->columns + RECT_EPS ||
                  r.y + r.h > cfg->rows + RECT_EPS))
            fail_at(L, rect, "%s.rect: [%g, %g, %g, %g] lies outside the %dx%d panel wall", p, r.x,
                    r.y, r.w, r.h, cfg->columns, cfg->rows);
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
        fail_at(L, list, "scenes: expected at least one scene");
    cfg->scenes = vw_xcalloc((size_t)n, sizeof *cfg->scenes);
    cfg->scene_count = n;
    cfg->scene_index = vw_strmap_create((size_t)n);
    int first_default = -1;
    for (int i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        struct vw_scene_cfg *out = &cfg->scenes[i];
        char p[SPATH];
        snprintf(p, sizeof p, "scenes[%d]", i);
        out->line = line_of(g);
        if (!config_setting_is_group(g)) {
            fail_at(L, g, "%s: expected a group { id = \"...\"; tiles = ( ... ); }", p);
            continue;
        }
        struct scene_in in = {.s = {.line = line_of(g)}};
        walk(L, g, p, scene_keys, &in);
        in.grid_given = member(g, "grid") != NULL;
        *out = in.s;
        if (out->id && !out->name)
            out->name = vw_xstrdup(out->id);

        int first = out->id ? vw_strmap_put(cfg->scene_index, out->id, i) : -1;
        if (first >= 0) {
            char where[SPATH + 64];
            int file = file_of(L, g);
            place(L, file_of(L, config_setting_get_elem(list, (unsigned)first)),
                  cfg->scenes[first].line, file, where, sizeof where);
            fail_at(L, member(g, "id"), "%s.id: duplicate scene id '%s' (first at %s)", p, out->id,
                    where);
        }
        if (out->is_default) {
            if (first_default < 0) {
                first_default = i;
            } else {
                const struct vw_scene_cfg *f = &cfg->scenes[first_default];
                fail_at(L, member(g, "default"),
                        "%s.default: more than one default scene (the first is '%s' at line %d)", p,
                        f->id ? f->id : "?", f->line);
            }
        }

        const config_setting_t *tiles = list_member(g, "tiles");
        int tn = tiles ? config_setting_length(tiles) : 0;
        out->tiles = vw_xcalloc((size_t)tn, sizeof *out->tiles);
        out->tile_count = tn;
        struct vw_strmap *tile_ids = NULL; /* made when a tile has an id */
        for (int t = 0; t < tn; t++) {
            const config_setting_t *tg = config_setting_get_elem(tiles, (unsigned)t);
            char tp[SPATH + 32];
            snprintf(tp, sizeof tp, "%s.tiles[%d]", p, t);
            if (!config_setting_is_group(tg)) {
                out->tiles[t] = (struct vw_tile_cfg){.source = -1, .line = line_of(tg)};
                fail_at(L, tg, "%s: expected a group { source = \"...\"; rect = [x, y, w, h]; }",
                        tp);
                continue;
            }
            read_tile(L, cfg, &in, wall_ok, tg, tp, &out->tiles[t]);
            const char *tid = out->tiles[t].id;
            if (!tid)
                continue;
            if (!tile_ids)
                tile_ids = vw_strmap_create(16);
            int u = vw_strmap_put(tile_ids, tid, t);
            if (u >= 0)
                fail_at(L, member(tg, "id"),
                        "%s.id: duplicate tile id '%s' in scene (first at line %d)", tp, tid,
                        out->tiles[u].line);
        }
        vw_strmap_destroy(tile_ids);
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
            fail_at(L, config_setting_get_elem(listen, (unsigned)i),
                    "control.listen[%d]: expected \"unix:PATH\" or \"tcp:HOST:PORT\", got \"%s\"",
                    i, cfg->control.listen[i]);
    }
}

/* control.seats = ( { name = "operator-1"; token = "..."; role = "operate"; }, ... ) */
static void read_seats(struct loader *L, struct vw_config *cfg, const config_setting_t *root)
{
    const config_setting_t *control = member(root, "control");
    const config_setting_t *list =
        control && config_setting_is_group(control) ? list_member(control, "seats") : NULL;
    int n = list ? config_setting_length(list) : 0;
    if (!n)
        return;
    struct vw_control_cfg *cc = &cfg->control;
    cc->seats = vw_xcalloc((size_t)n, sizeof *cc->seats);
    struct vw_strmap *names = vw_strmap_create((size_t)n), *tokens = vw_strmap_create((size_t)n);
    for (int i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        char p[SPATH];
        snprintf(p, sizeof p, "control.seats[%d]", i);
        if (!config_setting_is_group(g)) {
            fail_at(L, g,
                    "%s: expected a group { name = \"...\"; token = \"...\"; role = \"view\" | "
                    "\"operate\" | \"admin\"; }",
                    p);
            continue;
        }
        struct vw_seat_cfg *seat = &cc->seats[cc->seat_count++];
        seat->line = line_of(g);
        seat->role = VW_ROLE_VIEW;
        walk(L, g, p, seat_keys, seat);
        if (seat->name) {
            int first = vw_strmap_put(names, seat->name, cc->seat_count - 1);
            if (first >= 0)
                fail_at(L, member(g, "name"),
                        "%s.name: duplicate seat name '%s' (first at line %d)", p, seat->name,
                        cc->seats[first].line);
        }
        if (seat->token) {
            int first = vw_strmap_put(tokens, seat->token, cc->seat_count - 1);
            if (first >= 0)
                fail_at(L, member(g, "token"),
                        "%s.token: the same token as seat '%s' (line %d); each seat needs its own",
                        p, cc->seats[first].name ? cc->seats[first].name : "?",
                        cc->seats[first].line);
            else if (cc->token && !strcmp(cc->token, seat->token))
                fail_at(L, member(g, "token"),
                        "%s.token: the same token as control.token; each seat needs its own", p);
        }
    }
    vw_strmap_destroy(names);
    vw_strmap_destroy(tokens);
}

/* Letters, digits, '-' and '_': what NATS allows in a bucket name and a subject token. */
static bool plain_name(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return false;
    return true;
}

/* cluster = { nats = [...]; name = "..."; nodes = ( { id = "a"; panels = "0-5"; }, ... ); } */
static void read_cluster(struct loader *L, struct vw_config *cfg, const config_setting_t *root,
                         bool wall_ok)
{
    const config_setting_t *g = member(root, "cluster");
    if (!g || !config_setting_is_group(g))
        return;
    struct vw_cluster_cfg *cl = &cfg->cluster;
    cl->enabled = true;
    if (cl->name && !plain_name(cl->name))
        fail_at(L, member(g, "name"),
                "cluster.name: letters, digits, '-' and '_' only (it names a NATS bucket), got "
                "\"%s\"",
                cl->name);
    const config_setting_t *urls = list_member(g, "nats");
    if (urls && config_setting_length(urls) == 0)
        fail_at(L, urls, "cluster.nats: at least one server URL (\"nats://HOST:PORT\")");
    for (int i = 0; urls && i < cl->nats_count; i++)
        if (strncmp(cl->nats[i], "nats://", 7) && strncmp(cl->nats[i], "tls://", 6))
            fail_at(L, config_setting_get_elem(urls, (unsigned)i),
                    "cluster.nats[%d]: expected \"nats://HOST:PORT\" or \"tls://HOST:PORT\", got "
                    "\"%s\"",
                    i, cl->nats[i]);
    if (!cl->user != !cl->password)
        fail_at(L, g, "cluster: user and password go together");
    if (!cl->nkey != !cl->nkey_seed)
        fail_at(L, g, "cluster: nkey (the public key) and nkey_seed (its seed file) go together");
    if (!cl->tls_cert != !cl->tls_key)
        fail_at(L, g, "cluster.tls: cert and key go together");
    int kinds = !!cl->user + !!cl->token + !!cl->nkey_seed + !!cl->creds;
    if (kinds > 1)
        fail_at(L, g,
                "cluster: one kind of credentials (user/password, token, nkey/nkey_seed or creds)");

    const config_setting_t *list = list_member(g, "nodes");
    int n = list ? config_setting_length(list) : 0;
    if (list && n == 0)
        fail_at(L, list, "cluster.nodes: at least one node { id = \"a\"; panels = \"0-5\"; }");
    if (!n)
        return;
    cl->nodes = vw_xcalloc((size_t)n, sizeof *cl->nodes);
    int panels = wall_ok ? cfg->columns * cfg->rows : 0;
    int *owner = panels ? vw_xcalloc((size_t)panels, sizeof *owner) : NULL; /* node index + 1 */
    bool *on = panels ? vw_xcalloc((size_t)panels, sizeof *on) : NULL;
    for (int i = 0; i < n; i++) {
        const config_setting_t *ng = config_setting_get_elem(list, (unsigned)i);
        char p[SPATH];
        snprintf(p, sizeof p, "cluster.nodes[%d]", i);
        if (!config_setting_is_group(ng)) {
            fail_at(L, ng, "%s: expected a group { id = \"a\"; panels = \"0-5\"; }", p);
            continue;
        }
        struct vw_node_cfg *node = &cl->nodes[cl->node_count++];
        node->line = line_of(ng);
        walk(L, ng, p, node_keys, node);
        if (node->id && !plain_name(node->id))
            fail_at(L, member(ng, "id"), "%s.id: letters, digits, '-' and '_' only, got \"%s\"", p,
                    node->id);
        for (int j = 0; node->id && j < cl->node_count - 1; j++)
            if (cl->nodes[j].id && !strcmp(cl->nodes[j].id, node->id))
                fail_at(L, member(ng, "id"), "%s.id: duplicate node id '%s' (first at line %d)", p,
                        node->id, cl->nodes[j].line);
        if (!node->panels || !panels)
            continue;
        char why[96];
        if (!vw_parse_panels(node->panels, panels, on, why, sizeof why)) {
            fail_at(L, member(ng, "panels"), "%s.panels: \"%s\": %s", p, node->panels, why);
            continue;
        }
        for (int k = 0; k < panels; k++) {
            if (!on[k])
                continue;
            if (owner[k])
                fail_at(L, member(ng, "panels"), "%s.panels: panel %d belongs to node '%s' already",
                        p, k, cl->nodes[owner[k] - 1].id ? cl->nodes[owner[k] - 1].id : "?");
            else
                owner[k] = cl->node_count;
        }
    }
    free(owner);
    free(on);
}

/* The file's name without folder or extension, as the wall's name when it has none. */
static char *stem_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *s = vw_xstrdup(slash ? slash + 1 : path);
    char *dot = strrchr(s, '.');
    if (dot && dot != s)
        *dot = '\0';
    return s;
}

/* ---- public ---- */

struct vw_config *vw_config_load(const char *path, struct vw_errors *errs)
{
    struct loader L = {.path = path, .hash = 14695981039346656037ull};
    struct vw_config *cfg = vw_xcalloc(1, sizeof *cfg);
    cfg->path = vw_xstrdup(path);
    cfg->dir = dir_of(path);
    cfg->labels = true;
    cfg->hwaccel = VW_HWACCEL_NONE;
    cfg->substream_ratio = 4;
    cfg->output = vw_xstrdup("window");
    cfg->cluster.lead_ms = 120;
    cfg->cluster.playout_ms = 200;
    cfg->source_index = vw_strmap_create(64);
    L.dir = cfg->dir;

    config_t lc;
    config_init(&lc);

    add_file(&L, vw_xstrdup(path));
    if (!read_checked(&L, 0, ""))
        goto out;
    expand_includes(&L, 0, 0);
    if (L.nerr)
        goto out; /* an include that cannot be read: libconfig would stop there anyway */
    /* No include_dir: every @include now names an absolute /proc/self/fd path. */
    if (!config_read_string(&lc, L.files[0].text)) {
        const char *text = config_error_text(&lc) ? config_error_text(&lc) : "unreadable";
        const char *file = config_error_file(&lc);
        int idx = 0;
        for (int i = 1; file && i < L.nfiles; i++)
            if (L.files[i].alias && !strcmp(L.files[i].alias, file))
                idx = i;
        if (idx == 0 && !strcmp(text, "syntax error"))
            fail(&L, config_error_line(&lc), "syntax error");
        else
            fail_in(&L, idx, config_error_line(&lc), "syntax error: %s", text);
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
            fail_at(&L, member(wall, "grid"), "wall.grid: 1..%d panels in all, got %d", MAX_PANELS,
                    panels);
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
    read_catalogs(&L, cfg, root);
    read_scenes(&L, cfg, root, wall_ok);
    check_control(&L, cfg, root);
    read_seats(&L, cfg, root);
    read_cluster(&L, cfg, root, wall_ok);

out:
    config_destroy(&lc);
    snprintf(cfg->hash, sizeof cfg->hash, "%016llx", (unsigned long long)L.hash);
    close_files(&L);
    free(L.src_file);
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
        free(s->group);
    }
    vw_strmap_destroy(cfg->source_index);
    vw_strmap_destroy(cfg->scene_index);
    for (int i = 0; i < cfg->catalog_count; i++)
        free(cfg->catalogs[i]);
    free(cfg->catalogs);
    for (int i = 0; i < cfg->control.seat_count; i++) {
        free(cfg->control.seats[i].name);
        free(cfg->control.seats[i].token);
    }
    free(cfg->control.seats);
    free(cfg->state_dir);
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
    struct vw_cluster_cfg *cl = &cfg->cluster;
    for (int i = 0; i < cl->nats_count; i++)
        free(cl->nats[i]);
    free(cl->nats);
    for (int i = 0; i < cl->node_count; i++) {
        free(cl->nodes[i].id);
        free(cl->nodes[i].panels);
    }
    free(cl->nodes);
    free(cl->name);
    free(cl->user);
    free(cl->password);
    free(cl->token);
    free(cl->nkey);
    free(cl->nkey_seed);
    free(cl->creds);
    free(cl->tls_ca);
    free(cl->tls_cert);
    free(cl->tls_key);
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
    if (cfg->source_index)
        return vw_strmap_get(cfg->source_index, id);
    for (int i = 0; i < cfg->source_count; i++) /* a model built by hand, without an index */
        if (cfg->sources[i].id && !strcmp(cfg->sources[i].id, id))
            return i;
    return -1;
}

int vw_config_find_scene(const struct vw_config *cfg, const char *id)
{
    if (cfg->scene_index)
        return vw_strmap_get(cfg->scene_index, id);
    for (int i = 0; i < cfg->scene_count; i++)
        if (cfg->scenes[i].id && !strcmp(cfg->scenes[i].id, id))
            return i;
    return -1;
}

int vw_config_find_node(const struct vw_config *cfg, const char *id)
{
    for (int i = 0; i < cfg->cluster.node_count; i++)
        if (cfg->cluster.nodes[i].id && !strcmp(cfg->cluster.nodes[i].id, id))
            return i;
    return -1;
}

bool vw_config_group_id(const char *group, long *gid)
{
    char *end;
    errno = 0;
    long n = strtol(group, &end, 10);
    if (group[0] && !*end && errno == 0 && n >= 0) {
        *gid = n;
        return true;
    }
    struct group gr, *found = NULL;
    size_t cap = 16384;
    char *buf = NULL;
    int rc;
    do { /* a group of many members needs a bigger buffer: ERANGE says so */
        cap *= 2;
        char *bigger = realloc(buf, cap);
        if (!bigger) {
            free(buf);
            return false;
        }
        buf = bigger;
        rc = getgrnam_r(group, &gr, buf, cap, &found);
    } while (rc == ERANGE && cap < (16u << 20));
    bool ok = rc == 0 && found;
    if (ok)
        *gid = (long)found->gr_gid;
    free(buf);
    return ok;
}
