/* catalog: an RFC 4180 reader, one record at a time into a reused buffer, so a catalog of
 * 20,000 cameras costs one pass and no allocation per field. */
#include "model/catalog.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_FIELDS 4096

const char *const vw_catalog_column_names[VW_CATALOG_COLUMNS] = {"id", "name", "url", "substream",
                                                                 "group"};

struct record {
    char *buf; /* the fields, each NUL-terminated */
    size_t len, cap;
    size_t *start; /* offset of each field in buf */
    int count, fcap;
};

static void put(struct record *r, char c)
{
    if (r->len == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 4096;
        r->buf = realloc(r->buf, r->cap);
        if (!r->buf)
            abort();
    }
    r->buf[r->len++] = c;
}

static void begin_field(struct record *r)
{
    if (r->count == r->fcap) {
        r->fcap = r->fcap ? r->fcap * 2 : 16;
        r->start = realloc(r->start, (size_t)r->fcap * sizeof *r->start);
        if (!r->start)
            abort();
    }
    r->start[r->count++] = r->len;
}

static void trim_field(struct record *r)
{
    /* Unquoted: drop the spaces and tabs at the end (those at the start were skipped). */
    size_t s = r->start[r->count - 1];
    while (r->len > s && (r->buf[r->len - 1] == ' ' || r->buf[r->len - 1] == '\t'))
        r->len--;
}

static void report(const struct vw_catalog_sink *sink, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report(const struct vw_catalog_sink *sink, int line, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sink->error(sink->ctx, line, msg);
}

/* Reads one record starting at *pos (not a blank or comment line). Returns false with the
 * message in *why when it is broken; then *pos is past the end of the line where it broke. */
static bool read_record(const char *t, size_t n, size_t *pos, int *line, struct record *r,
                        const char **why)
{
    size_t i = *pos;
    r->len = 0;
    r->count = 0;
    for (;;) {
        if (r->count == MAX_FIELDS) {
            *why = "more than 4096 fields";
            goto skip;
        }
        begin_field(r);
        while (i < n && (t[i] == ' ' || t[i] == '\t'))
            i++;
        if (i < n && t[i] == '"') {
            int opened = *line;
            i++;
            for (;;) {
                if (i >= n) {
                    *line = opened;
                    *why = "a quoted field is not closed (a \" without its pair)";
                    *pos = n;
                    return false;
                }
                if (t[i] == '"') {
                    if (i + 1 < n && t[i + 1] == '"') {
                        put(r, '"');
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (t[i] == '\n')
                    (*line)++;
                put(r, t[i++]);
            }
            while (i < n && (t[i] == ' ' || t[i] == '\t'))
                i++;
            if (i < n && t[i] == '\r' && (i + 1 == n || t[i + 1] == '\n'))
                i++;
            if (i < n && t[i] != ',' && t[i] != '\n') {
                *why = "text after a closing quote (a quote inside a field is written \"\")";
                goto skip;
            }
        } else {
            while (i < n && t[i] != ',' && t[i] != '\n')
                put(r, t[i++]);
            if (r->len > r->start[r->count - 1] && r->buf[r->len - 1] == '\r')
                r->len--;
            trim_field(r);
        }
        put(r, '\0');
        if (i < n && t[i] == ',') {
            i++;
            continue;
        }
        if (i < n) /* '\n' */
            i++;
        *pos = i;
        return true;
    }
skip:
    while (i < n && t[i] != '\n')
        i++;
    *pos = i < n ? i + 1 : n;
    return false;
}

/* Whether the line at i is blank or a comment; *next is the start of the next line. */
static bool skippable(const char *t, size_t n, size_t i, size_t *next)
{
    size_t j = i;
    while (j < n && (t[j] == ' ' || t[j] == '\t' || t[j] == '\r'))
        j++;
    bool skip = j == n || t[j] == '\n' || t[i] == '#';
    if (skip) {
        while (j < n && t[j] != '\n')
            j++;
        *next = j < n ? j + 1 : n;
    }
    return skip;
}

bool vw_catalog_parse(const char *t, size_t n, const struct vw_catalog_sink *sink)
{
    struct record r = {0};
    int col_of[VW_CATALOG_COLUMNS]; /* field index of each known column, or -1 */
    for (int c = 0; c < VW_CATALOG_COLUMNS; c++)
        col_of[c] = -1; /* set by the header; rows come only after it */
    int header_fields = 0;
    bool header = false, ok = true;
    size_t i = 0;
    int line = 1;

    while (i < n) {
        size_t next;
        if (skippable(t, n, i, &next)) {
            i = next;
            line++;
            continue;
        }
        int at = line;
        const char *why = NULL;
        bool good = read_record(t, n, &i, &line, &r, &why);
        line++; /* the record's last line ended */
        if (!good) {
            report(sink, why && !strncmp(why, "a quoted", 8) ? line - 1 : at, "%s", why);
            ok = false;
            if (!header)
                break; /* no columns: nothing below can be read */
            continue;
        }
        if (!header) {
            header = true;
            header_fields = r.count;
            for (int c = 0; c < VW_CATALOG_COLUMNS; c++)
                col_of[c] = -1;
            for (int f = 0; f < r.count; f++) {
                const char *name = r.buf + r.start[f];
                for (int c = 0; c < VW_CATALOG_COLUMNS; c++) {
                    if (strcasecmp(name, vw_catalog_column_names[c]))
                        continue;
                    if (col_of[c] >= 0) {
                        report(sink, at, "the header names the column '%s' twice", name);
                        ok = false;
                    }
                    col_of[c] = f;
                }
            }
            const int need[] = {VW_CATALOG_ID, VW_CATALOG_URL};
            for (size_t k = 0; k < sizeof need / sizeof need[0]; k++) {
                if (col_of[need[k]] < 0) {
                    report(sink, at,
                           "the header row has no '%s' column (it names the columns: "
                           "id,name,url,substream,group; others are ignored)",
                           vw_catalog_column_names[need[k]]);
                    ok = false;
                }
            }
            if (!ok)
                break;
            continue;
        }
        if (r.count != header_fields) {
            report(sink, at,
                   "%d fields where the header has %d (a field with a comma needs quotes: "
                   "\"a, b\")",
                   r.count, header_fields);
            ok = false;
            continue;
        }
        struct vw_catalog_row row = {.line = at};
        for (int c = 0; c < VW_CATALOG_COLUMNS; c++)
            row.field[c] = col_of[c] >= 0 ? r.buf + r.start[col_of[c]] : NULL;
        sink->row(sink->ctx, &row);
    }
    if (!header && ok) {
        report(sink, 1, "no header row (expected one naming the columns: id,name,url,...)");
        ok = false;
    }
    free(r.buf);
    free(r.start);
    return ok;
}
