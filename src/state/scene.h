/* scene: which scene the wall shows — a base scene plus a stack of incident scenes pushed
 * with a priority and a ttl. The highest priority shows (the latest push among equals);
 * each entry leaves by itself when its ttl passes (ttl 0: until popped); then the next one
 * down shows, and finally the base scene. Pure logic on scene indices; main thread only. */
#ifndef VW_SCENE_H
#define VW_SCENE_H

#include <stdbool.h>

struct vw_scene_entry {
    int scene;
    int priority;
    double pushed_at;  /* seconds, caller's clock */
    double expires_at; /* 0: never */
};

struct vw_scene_stack {
    int base;
    struct vw_scene_entry *entries; /* sorted: the one showing first */
    int count, cap;
    unsigned long seq; /* orders pushes of equal priority */
};

void vw_scene_stack_init(struct vw_scene_stack *st, int base);
void vw_scene_stack_finish(struct vw_scene_stack *st);

/* Pushing a scene already on the stack replaces its entry (new priority and ttl). */
void vw_scene_stack_push(struct vw_scene_stack *st, int scene, int priority, double ttl,
                         double now);
/* false when the scene is not on the stack. */
bool vw_scene_stack_pop(struct vw_scene_stack *st, int scene);
/* Removes entries whose ttl passed; true when any did. */
bool vw_scene_stack_expire(struct vw_scene_stack *st, double now);
/* The scene showing: the top entry, else the base. */
int vw_scene_stack_current(const struct vw_scene_stack *st);
/* Earliest expiry among the entries, or 0 when none expires. */
double vw_scene_stack_next_expiry(const struct vw_scene_stack *st);
/* After a reload: maps every entry and the base through `remap` (old scene index → new
 * index, or -1 when the scene is gone: the entry is dropped, a lost base becomes 0). */
void vw_scene_stack_remap(struct vw_scene_stack *st, const int *remap, int old_count);

#endif
