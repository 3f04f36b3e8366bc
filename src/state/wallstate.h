/* wallstate: what the wall shows, as a value — the base scene, the incident stack with each
 * push's absolute expiry, the operators' picks per scene, the saved scenes, and a revision.
 *
 * It changes only through vw_state_apply(transition); each applied transition adds one to the
 * revision. Pure: no clock (times come in the transition), no I/O, no knowledge of the wall
 * file (the wall checks that scenes, tiles and sources exist before it builds a transition).
 * Scenes and sources are named by id, not index, so a state survives reloads and travels as
 * JSON (vw_state_to_json): to the state file, and to the other nodes of a cluster.
 *
 * What shows at time t is a function of (state, t): the highest-priority push whose expiry is
 * after t (among equals the latest push), else the base. Expired pushes stay in the value until
 * vw_state_prune drops them; that changes nothing that shows and adds no revision.
 *
 * Picks (tile.assign, tile.swap) belong to their scene and last while it is the base or on the
 * stack: an incident pushed over a scene leaves its picks alone, so pop, clear and expiry bring
 * it back as the operators left it. A scene that leaves both (a switch to another base, its push
 * popped, cleared or expired) loses its picks; scene.save keeps them in a saved scene.
 *
 * Main thread only (one owner); values may be copied to other threads as JSON. */
#ifndef VW_WALLSTATE_H
#define VW_WALLSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/config.h"

struct cJSON;

/* What a tile shows instead of its configured source. */
struct vw_state_pick {
    int tile;     /* index among its scene's tiles */
    char *source; /* source id */
    char *url;    /* an ad-hoc camera (tile.assign with "url"): its URL, else NULL */
    char *name;   /* its display name (ad-hoc only), else NULL */
    char *by;     /* who picked it */
};

struct vw_state_push {
    char *scene;
    int priority;
    int64_t pushed_at_ms;  /* realtime, ms since the epoch */
    int64_t expires_at_ms; /* 0: until popped */
    uint64_t seq;          /* orders pushes: among equal priorities the higher seq shows */
    char *by;
};

struct vw_state_picks {
    char *scene;
    struct vw_state_pick *picks; /* sorted by tile */
    int count;
};

/* A tile of a saved scene: where it is and what it showed when saved. */
struct vw_state_tile {
    char *id; /* the tile id it had, or NULL */
    struct vw_rect rect;
    enum vw_fit fit;
    bool label;
    char *source, *url, *name; /* as in a pick */
};

struct vw_state_saved {
    char *id, *name;
    struct vw_state_tile *tiles;
    int tile_count;
    int64_t saved_at_ms;
    char *by;
};

struct vw_state {
    uint64_t revision;
    char *base;                  /* scene id */
    int64_t base_since_ms;       /* when it became the base (realtime ms; 0: unknown) */
    struct vw_state_push *stack; /* in push order (seq rising); see vw_state_top */
    int stack_count;
    uint64_t seq;
    struct vw_state_picks *picks; /* one entry per scene with picks */
    int picks_count;
    struct vw_state_saved *saved;
    int saved_count;
};

enum vw_transition_kind {
    VW_T_SWITCH, /* scene: the new base */
    VW_T_PUSH,   /* scene, priority, ttl_ms (0: until popped) */
    VW_T_POP,    /* scene */
    VW_T_CLEAR,  /* every push */
    VW_T_ASSIGN, /* scene (the one showing), pick */
    VW_T_SWAP,   /* scene, pick (tile a gets b's source) and pick_b (tile b gets a's) */
    VW_T_RESET,  /* scene, pick.tile (-1: every tile) */
    VW_T_SAVE,   /* saved: a new saved scene (copied); replaces a saved one of that id */
    VW_T_DELETE, /* scene: a saved scene */
};

struct vw_transition {
    enum vw_transition_kind kind;
    int64_t now_ms; /* realtime, ms since the epoch */
    const char *by;
    const char *scene;
    int priority;
    int64_t ttl_ms;
    struct vw_state_pick pick, pick_b; /* borrowed; copied into the state */
    const struct vw_state_saved *saved;
};

/* A transition that owns copies of everything it points to (for another thread), and its
 * release. */
struct vw_transition *vw_transition_dup(const struct vw_transition *t);
void vw_transition_free(struct vw_transition *t); /* NULL ok */

void vw_state_init(struct vw_state *st, const char *base);
void vw_state_finish(struct vw_state *st); /* frees everything; the value is empty after */
void vw_state_copy(struct vw_state *dst, const struct vw_state *src); /* dst uninitialised */

/* Applies t. NULL on success (revision + 1), else an error code and nothing changed:
 * "not_pushed" (POP of a scene not on the stack, or pushed but expired), "not_saved" (DELETE
 * of a scene that is not a saved one), "bad_tile" (RESET of a tile with no pick). */
const char *vw_state_apply(struct vw_state *st, const struct vw_transition *t);

/* The push showing at now_ms, or NULL (then the base shows). */
const struct vw_state_push *vw_state_top(const struct vw_state *st, int64_t now_ms);
/* The id of the scene showing at now_ms. */
const char *vw_state_showing(const struct vw_state *st, int64_t now_ms);
/* When the scene showing at now_ms started showing: its push's time, or when the base
 * became the base (0: unknown). A cluster's nodes count shared files' time from it. */
int64_t vw_state_since(const struct vw_state *st, int64_t now_ms);
/* Whether `scene` has an unexpired push at now_ms. */
bool vw_state_is_pushed(const struct vw_state *st, const char *scene, int64_t now_ms);
/* The earliest expiry after now_ms among the pushes, or 0 when none expires. */
int64_t vw_state_next_expiry(const struct vw_state *st, int64_t now_ms);
/* Drops the pushes expired at now_ms, and the picks of scenes that left by it. No revision:
 * what shows is the same before and after. true when anything was dropped. */
bool vw_state_prune(struct vw_state *st, int64_t now_ms);

/* The picks of `scene`, or NULL when it has none. */
const struct vw_state_picks *vw_state_picks(const struct vw_state *st, const char *scene);
const struct vw_state_pick *vw_state_pick(const struct vw_state *st, const char *scene, int tile);
const struct vw_state_saved *vw_state_find_saved(const struct vw_state *st, const char *id);

/* After a reload: drops what the new wall file cannot show. `tiles` returns how many tiles
 * a scene id has (config or saved), -1 when it is gone; `source_ok` whether a source id
 * exists (ad-hoc picks, with a URL, are always kept). A lost base becomes `fallback`. Pushes
 * of lost scenes, picks of lost scenes/tiles/sources and saved tiles of lost sources go. No
 * revision: the caller commits the result if it must. true when anything changed. */
bool vw_state_retain(struct vw_state *st, int (*tiles)(void *ud, const char *scene),
                     bool (*source_ok)(void *ud, const char *source), void *ud,
                     const char *fallback);

/* The value as JSON (caller owns it), and back. vw_state_from_json fills an uninitialised
 * *out and returns true, or returns false with the reason in why (out untouched). */
struct cJSON *vw_state_to_json(const struct vw_state *st);
/* Whether two values are the same, revision included (compares their JSON). */
bool vw_state_equal(const struct vw_state *a, const struct vw_state *b);
bool vw_state_from_json(const struct cJSON *j, struct vw_state *out, char *why, size_t why_cap);

#endif
