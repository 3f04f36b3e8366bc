/* catalog: camera lists in CSV (RFC 4180), as an integrator exports them from an NVR or a
 * video platform: a header row naming the columns, then one camera per record.
 *
 * Only the parsing lives here; the wall-file loader (config.c) reads and checks the file
 * (regular file, UTF-8, BOM) and turns each row into a source. */
#ifndef VW_CATALOG_H
#define VW_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

/* The columns a catalog may name in its header (case-insensitive); others are ignored.
 * `id` and `url` are required. */
enum vw_catalog_column {
    VW_CATALOG_ID,
    VW_CATALOG_NAME,
    VW_CATALOG_URL,
    VW_CATALOG_SUBSTREAM,
    VW_CATALOG_GROUP,
    VW_CATALOG_COLUMNS
};

struct vw_catalog_row {
    int line; /* line where the record starts (1-based) */
    /* NULL when the header has no such column, else the field, "" when empty. Unquoted
     * fields are trimmed of spaces and tabs; quoted ones are kept as they are. */
    const char *field[VW_CATALOG_COLUMNS];
};

struct vw_catalog_sink {
    /* Called once per data record; the strings live until it returns. */
    void (*row)(void *ctx, const struct vw_catalog_row *row);
    /* Called once per problem, with the line and the message (no path). */
    void (*error)(void *ctx, int line, const char *msg);
    void *ctx;
};

/* Parses `len` bytes of CSV (UTF-8 already checked, byte-order mark already skipped): a
 * header row, then records; blank lines and lines starting with '#' are skipped; fields
 * are separated by commas and may be quoted ("a, ""b""" is: a, "b"), quoted fields may
 * span lines; records end with LF or CRLF. A bad record is reported and skipped, and
 * parsing goes on. Returns false when it reported any problem. Any thread; no state
 * outside the call. */
bool vw_catalog_parse(const char *text, size_t len, const struct vw_catalog_sink *sink);

/* "id,name,url,substream,group": the column names, for messages and docs. */
extern const char *const vw_catalog_column_names[VW_CATALOG_COLUMNS];

#endif
