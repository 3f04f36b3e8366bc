/* fuzz_catalog: libFuzzer target for the camera catalog reader and the UTF-8 validator.
 *
 * Each input is checked with vw_utf8_valid (whose answer must agree with a byte-at-a-time
 * reference decoder); when it is UTF-8, its BOM is skipped and it goes through
 * vw_catalog_parse: every row must have its id and url columns, every field must be a
 * NUL-terminated string inside what the row says, every line number must lie in the input.
 * A broken invariant aborts, which libFuzzer reports as a crash.
 *
 * Built two ways (tests/cmake/config.cmake): -DVWALL_FUZZ=ON with clang: `fuzz_catalog`;
 * always: `fuzz_catalog_regress`, with a main (VW_FUZZ_MAIN) that runs the target over every
 * file of the folders given (tests/configs/catalog-corpus) plus a few built inputs. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "model/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                           \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "fuzz_catalog: invariant broken: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                            \
        }                                                                                       \
    } while (0)

/* RFC 3629 by code point: the reference the fast validator must agree with. */
static bool reference_valid(const uint8_t *s, size_t n, size_t *bad)
{
    size_t i = 0;
    while (i < n) {
        uint32_t c = s[i], cp;
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || n - i < len)
            goto bad;
        cp = len == 1 ? c : c & (0x7Fu >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                goto bad;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            goto bad;
        i += len;
    }
    return true;
bad:
    *bad = i;
    return false;
}

struct seen {
    int lines; /* lines in the input */
    int rows, errors;
};

static void on_row(void *ctx, const struct vw_catalog_row *row)
{
    struct seen *s = ctx;
    REQUIRE(row->line >= 1 && row->line <= s->lines);
    REQUIRE(row->field[VW_CATALOG_ID] && row->field[VW_CATALOG_URL]);
    for (int c = 0; c < VW_CATALOG_COLUMNS; c++)
        if (row->field[c])
            REQUIRE(strlen(row->field[c]) < (size_t)1 << 30);
    s->rows++;
}

static void on_error(void *ctx, int line, const char *msg)
{
    struct seen *s = ctx;
    REQUIRE(line >= 1 && line <= s->lines);
    REQUIRE(msg && *msg);
    s->errors++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t bad = 0, ref_bad = 0;
    bool ok = vw_utf8_valid((const char *)data, size, &bad);
    bool ref = reference_valid(data, size, &ref_bad);
    REQUIRE(ok == ref);
    if (!ok) {
        REQUIRE(bad == ref_bad);
        return 0;
    }
    size_t skip = vw_utf8_bom((const char *)data, size);
    struct seen s = {.lines = 1};
    for (size_t i = skip; i < size; i++)
        s.lines += data[i] == '\n';
    struct vw_catalog_sink sink = {on_row, on_error, &s};
    bool parsed = vw_catalog_parse((const char *)data + skip, size - skip, &sink);
    REQUIRE(parsed == (s.errors == 0));
    return 0;
}

#ifdef VW_FUZZ_MAIN
#include <dirent.h>

static void run_buf(const char *what, const uint8_t *buf, size_t n)
{
    (void)what;
    LLVMFuzzerTestOneInput(buf, n);
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_catalog: can't read %s\n", path);
        return 1;
    }
    size_t cap = 1 << 16, n = 0, k;
    uint8_t *buf = malloc(cap);
    while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            uint8_t *p = realloc(buf, cap *= 2);
            if (!p)
                free(buf);
            buf = p;
        }
    }
    fclose(f);
    if (!buf)
        return 1;
    run_buf(path, buf, n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0, failures = 0;
    for (int a = 1; a < argc; a++) {
        DIR *d = opendir(argv[a]);
        if (!d) {
            failures += run_file(argv[a]);
            files++;
            continue;
        }
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[a], e->d_name);
            failures += run_file(path);
            files++;
        }
        closedir(d);
    }
    /* Built inputs: many fields, a long quoted field, every byte value after a header. */
    size_t n = 200000;
    uint8_t *buf = malloc(n);
    memcpy(buf, "id,url\n", 7);
    memset(buf + 7, ',', n - 7);
    run_buf("commas", buf, n);
    buf[7] = '"';
    memset(buf + 8, 'x', n - 8);
    run_buf("open quote", buf, n);
    for (int b = 0; b < 256; b++) {
        uint8_t in[] = {'i', 'd', ',', 'u', 'r', 'l', '\n', 'a', ',', (uint8_t)b, 0x80, 'x', '\n'};
        run_buf("byte", in, sizeof in);
    }
    free(buf);
    printf("fuzz_catalog: %d files and 259 built inputs, %d unreadable\n", files, failures);
    return failures || files == 0 ? 1 : 0;
}
#endif
