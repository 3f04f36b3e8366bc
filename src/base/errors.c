#include "base/errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vw_errors_init(struct vw_errors *e)
{
    e->msgs = NULL;
    e->count = 0;
    e->cap = 0;
}

static void push(struct vw_errors *e, char *msg)
{
    if (e->count == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 8;
        e->msgs = realloc(e->msgs, (size_t)e->cap * sizeof *e->msgs);
        if (!e->msgs)
            abort();
    }
    e->msgs[e->count++] = msg;
}

void vw_errors_add(struct vw_errors *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *msg = malloc((size_t)n + 1);
    if (!msg)
        abort();
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
    push(e, msg);
}

void vw_errors_extend(struct vw_errors *e, const struct vw_errors *from)
{
    for (int i = 0; i < from->count; i++)
        vw_errors_add(e, "%s", from->msgs[i]);
}

void vw_errors_finish(struct vw_errors *e)
{
    for (int i = 0; i < e->count; i++)
        free(e->msgs[i]);
    free(e->msgs);
    vw_errors_init(e);
}

const char *vw_errors_first(const struct vw_errors *e)
{
    return e->count ? e->msgs[0] : "";
}
