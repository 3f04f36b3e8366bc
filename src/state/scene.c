#include "state/scene.h"

#include <stdlib.h>
#include <string.h>

void vw_scene_stack_init(struct vw_scene_stack *st, int base)
{
    memset(st, 0, sizeof *st);
    st->base = base;
}

void vw_scene_stack_finish(struct vw_scene_stack *st)
{
    free(st->entries);
    memset(st, 0, sizeof *st);
}

static int find(const struct vw_scene_stack *st, int scene)
{
    for (int i = 0; i < st->count; i++)
        if (st->entries[i].scene == scene)
            return i;
    return -1;
}

static void remove_at(struct vw_scene_stack *st, int i)
{
    memmove(&st->entries[i], &st->entries[i + 1],
            (size_t)(st->count - i - 1) * sizeof *st->entries);
    st->count--;
}

/* Showing order: higher priority first; among equals, the later push first. */
static bool shows_before(const struct vw_scene_entry *a, const struct vw_scene_entry *b)
{
    if (a->priority != b->priority)
        return a->priority > b->priority;
    return a->pushed_at > b->pushed_at || (a->pushed_at == b->pushed_at);
}

void vw_scene_stack_push(struct vw_scene_stack *st, int scene, int priority, double ttl, double now)
{
    int old = find(st, scene);
    if (old >= 0)
        remove_at(st, old);
    if (st->count == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 4;
        st->entries = realloc(st->entries, (size_t)st->cap * sizeof *st->entries);
        if (!st->entries)
            abort();
    }
    struct vw_scene_entry e = {
        .scene = scene,
        .priority = priority,
        .pushed_at = now,
        .expires_at = ttl > 0 ? now + ttl : 0,
    };
    /* A new push goes in front of every entry of its priority or lower. */
    int at = 0;
    while (at < st->count && !shows_before(&e, &st->entries[at]))
        at++;
    memmove(&st->entries[at + 1], &st->entries[at], (size_t)(st->count - at) * sizeof *st->entries);
    st->entries[at] = e;
    st->count++;
    st->seq++;
}

bool vw_scene_stack_pop(struct vw_scene_stack *st, int scene)
{
    int i = find(st, scene);
    if (i < 0)
        return false;
    remove_at(st, i);
    return true;
}

bool vw_scene_stack_expire(struct vw_scene_stack *st, double now)
{
    bool any = false;
    for (int i = 0; i < st->count;) {
        if (st->entries[i].expires_at > 0 && st->entries[i].expires_at <= now) {
            remove_at(st, i);
            any = true;
        } else {
            i++;
        }
    }
    return any;
}

int vw_scene_stack_current(const struct vw_scene_stack *st)
{
    return st->count ? st->entries[0].scene : st->base;
}

double vw_scene_stack_next_expiry(const struct vw_scene_stack *st)
{
    double next = 0;
    for (int i = 0; i < st->count; i++) {
        double e = st->entries[i].expires_at;
        if (e > 0 && (next == 0 || e < next))
            next = e;
    }
    return next;
}

void vw_scene_stack_remap(struct vw_scene_stack *st, const int *remap, int old_count)
{
    for (int i = 0; i < st->count;) {
        int s = st->entries[i].scene;
        int to = !remap ? s : (s < old_count ? remap[s] : -1);
        if (to < 0) {
            remove_at(st, i);
        } else {
            st->entries[i].scene = to;
            i++;
        }
    }
    if (remap)
        st->base = (st->base < old_count && remap[st->base] >= 0) ? remap[st->base] : 0;
}
