/* strmap: open addressing with linear probing over a power-of-two table, at most half
 * full, so a lookup touches one or two slots on average. */
#include "base/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct slot {
    const char *key; /* NULL: empty */
    uint32_t hash;
    int value;
};

struct vw_strmap {
    struct slot *slots;
    size_t mask; /* capacity - 1 */
    size_t count;
};

static uint32_t hash_of(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

static struct slot *slots_new(size_t cap)
{
    struct slot *s = calloc(cap, sizeof *s);
    if (!s)
        abort();
    return s;
}

struct vw_strmap *vw_strmap_create(size_t expected)
{
    struct vw_strmap *m = calloc(1, sizeof *m);
    if (!m)
        abort();
    size_t cap = 16;
    while (cap < expected * 2)
        cap *= 2;
    m->slots = slots_new(cap);
    m->mask = cap - 1;
    return m;
}

void vw_strmap_destroy(struct vw_strmap *m)
{
    if (!m)
        return;
    free(m->slots);
    free(m);
}

static void grow(struct vw_strmap *m)
{
    size_t cap = (m->mask + 1) * 2;
    struct slot *old = m->slots;
    size_t old_cap = m->mask + 1;
    m->slots = slots_new(cap);
    m->mask = cap - 1;
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i].key)
            continue;
        size_t j = old[i].hash & m->mask;
        while (m->slots[j].key)
            j = (j + 1) & m->mask;
        m->slots[j] = old[i];
    }
    free(old);
}

int vw_strmap_put(struct vw_strmap *m, const char *key, int value)
{
    if ((m->count + 1) * 2 > m->mask + 1)
        grow(m);
    uint32_t h = hash_of(key);
    size_t j = h & m->mask;
    for (; m->slots[j].key; j = (j + 1) & m->mask)
        if (m->slots[j].hash == h && !strcmp(m->slots[j].key, key))
            return m->slots[j].value;
    m->slots[j] = (struct slot){key, h, value};
    m->count++;
    return -1;
}

int vw_strmap_get(const struct vw_strmap *m, const char *key)
{
    if (!m || !key)
        return -1;
    uint32_t h = hash_of(key);
    for (size_t j = h & m->mask; m->slots[j].key; j = (j + 1) & m->mask)
        if (m->slots[j].hash == h && !strcmp(m->slots[j].key, key))
            return m->slots[j].value;
    return -1;
}

size_t vw_strmap_count(const struct vw_strmap *m)
{
    return m ? m->count : 0;
}
