/* mem: allocation that cannot fail. vwall runs for years on a box with memory to spare; when
 * an allocation fails anyway, nothing sensible can follow, so these abort (and the service
 * manager restarts the wall) rather than thread a NULL through every caller. */
#ifndef VW_MEM_H
#define VW_MEM_H

#include <stdlib.h>
#include <string.h>

static inline void *vw_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

static inline void *vw_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        abort();
    return p;
}

static inline void *vw_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        abort();
    return p;
}

/* A copy of s; NULL stays NULL. */
static inline char *vw_xstrdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    return memcpy(vw_xmalloc(n), s, n);
}

/* Room for one more element in an array of `count` used of `*cap`: doubles the capacity
 * when full (from 8). Returns the array, moved or not. */
static inline void *vw_grow(void *p, int count, int *cap, size_t size)
{
    if (count < *cap)
        return p;
    *cap = *cap ? *cap * 2 : 8;
    return vw_xrealloc(p, (size_t)*cap * size);
}

#endif
