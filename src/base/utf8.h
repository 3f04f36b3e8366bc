/* utf8: strict UTF-8 validation (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF) and the byte-order mark. Pure functions: any thread. */
#ifndef VW_UTF8_H
#define VW_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the n bytes at s are valid UTF-8 (a NUL byte is valid: it is U+0000). When they
 * are not and bad_at is not NULL, *bad_at is the offset of the first byte of the first
 * invalid sequence. */
bool vw_utf8_valid(const char *s, size_t n, size_t *bad_at);

/* The same for a NUL-terminated string. */
bool vw_utf8_valid_str(const char *s, size_t *bad_at);

/* 3 when s (n bytes) starts with the UTF-8 byte-order mark EF BB BF, else 0: how many
 * bytes to skip. */
size_t vw_utf8_bom(const char *s, size_t n);

#endif
