/* errors: a caller-owned list of user-facing messages, so a loader can report every
 * problem it finds instead of stopping at the first. The lower layer fills it; the
 * layer that decides prints it once. */
#ifndef VW_ERRORS_H
#define VW_ERRORS_H

#include <stdbool.h>

struct vw_errors {
    char **msgs; /* owned; each a heap string such as "wall.cfg:12: unknown key 'colour'" */
    int count;
    int cap;
};

void vw_errors_init(struct vw_errors *e);
/* Appends one printf-formatted message. Never fails (aborts when out of memory). */
void vw_errors_add(struct vw_errors *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends copies of every message of `from`. */
void vw_errors_extend(struct vw_errors *e, const struct vw_errors *from);
/* Frees the messages; `e` may be reused after vw_errors_init. */
void vw_errors_finish(struct vw_errors *e);
static inline bool vw_errors_any(const struct vw_errors *e)
{
    return e->count > 0;
}
/* The first message, or "" when there is none. */
const char *vw_errors_first(const struct vw_errors *e);

#endif
