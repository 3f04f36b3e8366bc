/* strmap: a string → index hash map (open addressing, FNV-1a) for lookups by id.
 *
 * The map does not copy its keys: each key must stay alive and unchanged while the map
 * holds it (ids owned by the model it indexes). Not locked: one thread writes it while it
 * is built; afterwards any number of threads may read it. */
#ifndef VW_STRMAP_H
#define VW_STRMAP_H

#include <stddef.h>

struct vw_strmap; /* opaque */

/* An empty map sized for about `expected` keys (it grows as needed). Aborts when out of
 * memory, like the rest of the loader. */
struct vw_strmap *vw_strmap_create(size_t expected);
void vw_strmap_destroy(struct vw_strmap *m); /* NULL ok */

/* Adds key → value (value >= 0) when the key is not there yet and returns -1; when it
 * is, changes nothing and returns the value it already has. */
int vw_strmap_put(struct vw_strmap *m, const char *key, int value);

/* The value of key, or -1. m may be NULL (then -1). */
int vw_strmap_get(const struct vw_strmap *m, const char *key);

size_t vw_strmap_count(const struct vw_strmap *m);

#endif
