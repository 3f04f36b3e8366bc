/* scenes: what the wall shows. The commands of the control protocol become transitions of
 * the store (state/store.h); after each, the wall resolves the state against the model: which
 * scene shows, and which source each of its tiles shows. Saved scenes join the wall file's
 * scenes as scenes of their own. Nothing here draws: the next frame does. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "wall/internal.h"

/* ---- events ---------------------------------------------------------------------------- */

cJSON *vw_wall_new_event(struct vw_wall *w, const char *name)
{
    if (!w->events_on)
        return NULL;
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "event", name);
    return ev;
}

void vw_wall_emit(struct vw_wall *w, cJSON *ev)
{
    if (ev)
        cJSON_AddItemToArray(w->events, ev);
}

/* ---- the scene table: the wall file's scenes, then the saved ones ---------------------- */

int vw_wall_scene_count(const struct vw_wall *w)
{
    return w->cfg->scene_count + w->saved_scene_count;
}

const struct vw_scene_cfg *vw_wall_scene_at(const struct vw_wall *w, int k)
{
    return k < w->cfg->scene_count ? &w->cfg->scenes[k] : &w->saved_scenes[k - w->cfg->scene_count];
}

int vw_wall_find_scene(const struct vw_wall *w, const char *id)
{
    int k = vw_config_find_scene(w->cfg, id);
    if (k >= 0)
        return k;
    for (int i = 0; i < w->saved_scene_count; i++)
        if (strcmp(w->saved_scenes[i].id, id) == 0)
            return w->cfg->scene_count + i;
    return -1;
}

bool vw_wall_has_scene(const struct vw_wall *w, const char *id)
{
    return vw_wall_find_scene(w, id) >= 0;
}

const struct vw_scene_cfg *vw_wall_shown(const struct vw_wall *w)
{
    return vw_wall_scene_at(w, w->showing);
}

int vw_wall_tile_source(const struct vw_wall *w, int t)
{
    return w->tile_src[t];
}

void vw_wall_free_saved_scenes(struct vw_wall *w)
{
    for (int i = 0; i < w->saved_scene_count; i++)
        free(w->saved_scenes[i].tiles); /* the strings belong to the state */
    free(w->saved_scenes);
    w->saved_scenes = NULL;
    w->saved_scene_count = 0;
}

/* The source a pick or a saved tile names: a source of the wall file, or an ad-hoc camera. */
static int pick_source(struct vw_wall *w, const char *source, const char *url, const char *name)
{
    if (url)
        return vw_wall_adhoc_source(w, url, name);
    return vw_wall_find_source(w, source);
}

/* The state's saved scenes as scenes of the model. A saved id that the wall file now uses
 * too is hidden (the wall file wins). */
static void build_saved_scenes(struct vw_wall *w)
{
    const struct vw_state *st = vw_store_state(w->store);
    vw_wall_free_saved_scenes(w);
    w->saved_scenes =
        calloc((size_t)(st->saved_count ? st->saved_count : 1), sizeof *w->saved_scenes);
    if (!w->saved_scenes)
        abort();
    for (int i = 0; i < st->saved_count; i++) {
        const struct vw_state_saved *s = &st->saved[i];
        if (vw_config_find_scene(w->cfg, s->id) >= 0) {
            if (!w->saved_hidden_told) /* once per wall file, not on every command */
                vw_warn("saved scene '%s' is hidden: the wall file now has a scene of that id",
                        s->id);
            continue;
        }
        struct vw_scene_cfg *sc = &w->saved_scenes[w->saved_scene_count++];
        *sc = (struct vw_scene_cfg){.id = s->id, .name = s->name ? s->name : s->id};
        sc->tiles = calloc((size_t)(s->tile_count ? s->tile_count : 1), sizeof *sc->tiles);
        if (!sc->tiles)
            abort();
        for (int k = 0; k < s->tile_count; k++) {
            const struct vw_state_tile *t = &s->tiles[k];
            int src = pick_source(w, t->source, t->url, t->name);
            if (src < 0)
                continue;
            sc->tiles[sc->tile_count++] = (struct vw_tile_cfg){
                .id = t->id, .source = src, .rect = t->rect, .fit = t->fit, .label = t->label};
        }
    }
    w->saved_hidden_told = true;
}

static bool tiles_overlap(const struct vw_wall *w, const struct vw_scene_cfg *sc)
{
    /* Sorted sweep would be O(n log n); scenes of a few hundred tiles make n² cheap enough,
     * and this runs only when the scene showing changes. */
    for (int i = 0; i < sc->tile_count; i++) {
        struct vw_box a = vw_geom_tile_box(&w->geom, sc->tiles[i].rect);
        for (int j = i + 1; j < sc->tile_count; j++)
            if (vw_box_intersects(a, vw_geom_tile_box(&w->geom, sc->tiles[j].rect)))
                return true;
    }
    return false;
}

void vw_wall_resolve(struct vw_wall *w, const char *by, bool announce)
{
    int64_t now = vw_realtime_ms();
    const struct vw_state *st = vw_store_state(w->store);
    build_saved_scenes(w);
    const char *id = vw_state_showing(st, now);
    int k = vw_wall_find_scene(w, id);
    if (k < 0) { /* cannot happen after retain; the default scene rather than nothing */
        vw_warn("scene '%s' is not in the wall file; showing the default scene", id);
        k = w->cfg->default_scene;
    }
    const struct vw_scene_cfg *sc = vw_wall_scene_at(w, k);
    if (sc->tile_count > w->tile_cap) {
        w->tile_cap = sc->tile_count;
        w->tile_src = realloc(w->tile_src, sizeof *w->tile_src * (size_t)w->tile_cap);
        if (!w->tile_src)
            abort();
    }
    for (int t = 0; t < sc->tile_count; t++) {
        const struct vw_state_pick *p = vw_state_pick(st, sc->id, t);
        int src = p ? pick_source(w, p->source, p->url, p->name) : -1;
        w->tile_src[t] = src >= 0 ? src : sc->tiles[t].source;
    }
    vw_wall_forget_unnamed_adhoc(w);
    bool changed = !w->resolved || k != w->showing;
    w->showing = k;
    w->resolved = true;
    w->full_redraw = true;
    w->dirty = true;
    if (changed) {
        w->tiles_overlap = tiles_overlap(w, sc);
        w->switch_started_us = vw_now_us();
        vw_info("scene '%s' now showing (base '%s', by %s)", sc->id, st->base, by ? by : "wall");
    }
    if (!announce)
        return;
    cJSON *ev = vw_wall_new_event(w, "scene.changed");
    if (ev) {
        int pushed = 0;
        for (int i = 0; i < st->stack_count; i++)
            pushed += vw_state_is_pushed(st, st->stack[i].scene, now);
        cJSON_AddStringToObject(ev, "scene", sc->id);
        cJSON_AddStringToObject(ev, "base_scene", st->base);
        cJSON_AddNumberToObject(ev, "stack", pushed);
        cJSON_AddStringToObject(ev, "by", by ? by : "wall");
        cJSON_AddNumberToObject(ev, "revision", (double)st->revision);
        vw_wall_emit(w, ev);
    }
}

/* ---- commands -------------------------------------------------------------------------- */

static bool fail(struct vw_wall_error *e, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(struct vw_wall_error *e, const char *code, const char *fmt, ...)
{
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return false;
}

/* An id as it may appear in a message: at most 80 bytes, never cut inside a character. */
static const char *shown_id(const char *id, char *buf, size_t cap)
{
    size_t n = strlen(id);
    if (n >= cap)
        n = cap - 1;
    while (n > 0 && n < strlen(id) && ((unsigned char)id[n] & 0xC0) == 0x80)
        n--;
    memcpy(buf, id, n);
    buf[n] = '\0';
    return buf;
}

static bool known_scene(struct vw_wall *w, const char *id, struct vw_wall_error *e)
{
    if (vw_wall_find_scene(w, id) >= 0)
        return true;
    char b[84];
    return fail(e, "unknown_scene", "no scene '%s' in the wall file or saved",
                shown_id(id, b, sizeof b));
}

const char *vw_wall_commit_message(const char *code)
{
    if (!strcmp(code, "not_pushed"))
        return "the scene is not on the incident stack (any more)";
    if (!strcmp(code, "not_saved"))
        return "not a saved scene (scenes of the wall file are changed in the file)";
    if (!strcmp(code, "bad_tile"))
        return "the tile shows its configured source already";
    if (!strcmp(code, "cluster_unavailable"))
        return "no NATS server of the cluster answers: the wall keeps showing its state; "
               "changes are refused until the cluster is back";
    return "the wall state refused the change";
}

/* Commits t; on success resolves and (announce) tells every console that the scene state
 * changed. In a cluster the change is proposed instead (w->last_ticket): it shows, and the
 * consoles hear of it, when the cluster has committed it (vw_wall_adopted). */
static bool commit(struct vw_wall *w, struct vw_transition *t, bool announce,
                   struct vw_wall_error *e)
{
    t->now_ms = vw_realtime_ms();
    uint64_t ticket = 0;
    const char *err = vw_store_commit(w->store, t, &ticket);
    if (err == VW_STORE_PENDING) {
        w->last_ticket = ticket;
        return true;
    }
    if (err) {
        char b[84];
        if (strcmp(err, "not_pushed") == 0)
            return fail(e, err, "scene '%s' is not on the incident stack",
                        shown_id(t->scene, b, sizeof b));
        if (strcmp(err, "not_saved") == 0)
            return fail(e, err,
                        "scene '%s' is not a saved scene (scenes of the wall file are "
                        "changed in the file)",
                        shown_id(t->scene, b, sizeof b));
        if (strcmp(err, "bad_tile") == 0)
            return fail(e, err, "tile %d shows its configured source already", t->pick.tile);
        return fail(e, err, "%s", vw_wall_commit_message(err));
    }
    vw_wall_resolve(w, t->by, announce);
    return true;
}

/* Whether the handlers tell the consoles themselves (one box), or the adoption of the
 * committed value does (a cluster: the same events on every node). */
static bool events_here(const struct vw_wall *w)
{
    return !vw_store_is_shared(w->store);
}

bool vw_wall_switch(struct vw_wall *w, const char *scene, const char *by, struct vw_wall_error *e)
{
    if (!known_scene(w, scene, e))
        return false;
    struct vw_transition t = {.kind = VW_T_SWITCH, .by = by, .scene = scene};
    return commit(w, &t, true, e);
}

bool vw_wall_push(struct vw_wall *w, const char *scene, int priority, double ttl_s, const char *by,
                  struct vw_wall_error *e)
{
    if (!known_scene(w, scene, e))
        return false;
    struct vw_transition t = {.kind = VW_T_PUSH,
                              .by = by,
                              .scene = scene,
                              .priority = priority,
                              .ttl_ms = ttl_s > 0 ? (int64_t)llround(ttl_s * 1000) : 0};
    if (ttl_s > 0 && t.ttl_ms < 1)
        t.ttl_ms = 1;
    vw_info("scene '%s' pushed (priority %d, ttl %g s, by %s)", scene, priority, ttl_s, by);
    return commit(w, &t, true, e);
}

bool vw_wall_pop(struct vw_wall *w, const char *scene, const char *by, struct vw_wall_error *e)
{
    if (!known_scene(w, scene, e))
        return false;
    struct vw_transition t = {.kind = VW_T_POP, .by = by, .scene = scene};
    if (!commit(w, &t, true, e))
        return false;
    vw_info("scene '%s' popped (by %s)", scene, by);
    return true;
}

bool vw_wall_clear(struct vw_wall *w, const char *by, struct vw_wall_error *e)
{
    struct vw_transition t = {.kind = VW_T_CLEAR, .by = by};
    if (!commit(w, &t, true, e))
        return false;
    vw_info("incident stack cleared (by %s)", by);
    return true;
}

/* The index of a tile of the scene showing, or -1 with *e filled. */
static int find_tile(struct vw_wall *w, struct vw_tile_ref ref, struct vw_wall_error *e)
{
    const struct vw_scene_cfg *sc = vw_wall_shown(w);
    if (ref.id) {
        for (int i = 0; i < sc->tile_count; i++)
            if (sc->tiles[i].id && strcmp(sc->tiles[i].id, ref.id) == 0)
                return i;
        char b[84];
        fail(e, "bad_tile", "the scene showing ('%s') has no tile '%s'", sc->id,
             shown_id(ref.id, b, sizeof b));
        return -1;
    }
    if (ref.index >= 0 && ref.index < sc->tile_count)
        return ref.index;
    fail(e, "bad_tile", "the scene showing ('%s') has tiles 0 to %d, not %d", sc->id,
         sc->tile_count - 1, ref.index);
    return -1;
}

/* What tile t shows now, as a pick (the strings point into the model or the state). */
static struct vw_state_pick pick_of(struct vw_wall *w, int t)
{
    int src = vw_wall_tile_source(w, t);
    const struct vw_source_cfg *c = vw_wall_source_cfg(w, src);
    bool adhoc = vw_wall_source_is_adhoc(w, src);
    return (struct vw_state_pick){
        .tile = t, .source = c->id, .url = adhoc ? c->url : NULL, .name = adhoc ? c->name : NULL};
}

static void tile_event(struct vw_wall *w, int t, const char *by, bool reset)
{
    cJSON *ev = vw_wall_new_event(w, "tile.assigned");
    if (!ev)
        return;
    const struct vw_scene_cfg *sc = vw_wall_shown(w);
    cJSON_AddStringToObject(ev, "scene", sc->id);
    cJSON_AddNumberToObject(ev, "tile", t);
    if (sc->tiles[t].id)
        cJSON_AddStringToObject(ev, "tile_id", sc->tiles[t].id);
    cJSON_AddStringToObject(ev, "source", vw_wall_source_cfg(w, vw_wall_tile_source(w, t))->id);
    cJSON_AddStringToObject(ev, "configured_source",
                            vw_wall_source_cfg(w, sc->tiles[t].source)->id);
    cJSON_AddBoolToObject(ev, "reset", reset);
    cJSON_AddStringToObject(ev, "by", by ? by : "wall");
    cJSON_AddNumberToObject(ev, "revision", (double)vw_store_state(w->store)->revision);
    vw_wall_emit(w, ev);
}

bool vw_wall_assign(struct vw_wall *w, struct vw_tile_ref tile, const char *source, const char *url,
                    const char *name, const char *by, struct vw_wall_error *e)
{
    int t = find_tile(w, tile, e);
    if (t < 0)
        return false;
    int src;
    if (url) {
        src = vw_wall_adhoc_source(w, url, name);
        if (src < 0)
            return fail(e, "internal_error", "out of memory for an ad-hoc camera");
    } else {
        src = vw_wall_find_source(w, source);
        if (src < 0) {
            char b[84];
            return fail(e, "unknown_source", "no source '%s' in the wall file",
                        shown_id(source, b, sizeof b));
        }
    }
    const struct vw_source_cfg *c = vw_wall_source_cfg(w, src);
    bool adhoc = vw_wall_source_is_adhoc(w, src);
    struct vw_transition tr = {
        .kind = VW_T_ASSIGN,
        .by = by,
        .scene = vw_wall_shown(w)->id,
        .pick = {.tile = t,
                 .source = c->id,
                 .url = adhoc ? c->url : NULL,
                 .name = adhoc ? c->name : NULL},
    };
    if (!commit(w, &tr, false, e))
        return false;
    c = vw_wall_source_cfg(w, src); /* resolving may have grown the ad-hoc table */
    w->switch_started_us = vw_now_us();
    vw_info("scene '%s' tile %d now shows '%s' (by %s)", vw_wall_shown(w)->id, t, c->id, by);
    if (events_here(w))
        tile_event(w, t, by, false);
    return true;
}

bool vw_wall_swap(struct vw_wall *w, struct vw_tile_ref a, struct vw_tile_ref b, const char *by,
                  struct vw_wall_error *e)
{
    int ta = find_tile(w, a, e);
    if (ta < 0)
        return false;
    int tb = find_tile(w, b, e);
    if (tb < 0)
        return false;
    struct vw_state_pick pa = pick_of(w, tb), pb = pick_of(w, ta);
    pa.tile = ta;
    pb.tile = tb;
    /* the strings of pa/pb point into the model: the commit copies them first */
    struct vw_transition tr = {
        .kind = VW_T_SWAP, .by = by, .scene = vw_wall_shown(w)->id, .pick = pa, .pick_b = pb};
    if (!commit(w, &tr, false, e))
        return false;
    vw_info("scene '%s' tiles %d and %d swapped (by %s)", vw_wall_shown(w)->id, ta, tb, by);
    if (events_here(w)) {
        tile_event(w, ta, by, false);
        tile_event(w, tb, by, false);
    }
    return true;
}

bool vw_wall_reset(struct vw_wall *w, struct vw_tile_ref tile, const char *by,
                   struct vw_wall_error *e)
{
    const struct vw_scene_cfg *sc = vw_wall_shown(w);
    const struct vw_state_picks *before = vw_state_picks(vw_store_state(w->store), sc->id);
    int reset_tiles[64], n_reset = 0;
    int t = -1;
    if (tile.all) {
        for (int i = 0; before && i < before->count && n_reset < 64; i++)
            reset_tiles[n_reset++] = before->picks[i].tile;
    } else {
        t = find_tile(w, tile, e);
        if (t < 0)
            return false;
        if (!vw_state_pick(vw_store_state(w->store), sc->id, t))
            return fail(e, "not_assigned", "tile %d of '%s' shows its configured source already", t,
                        sc->id);
        reset_tiles[n_reset++] = t;
    }
    int all_count = before ? before->count : 0;
    struct vw_transition tr = {
        .kind = VW_T_RESET, .by = by, .scene = sc->id, .pick = {.tile = tile.all ? -1 : t}};
    if (!commit(w, &tr, false, e))
        return false;
    vw_info("scene '%s': %s back to the configured source%s (by %s)", vw_wall_shown(w)->id,
            tile.all ? "every tile" : "a tile", tile.all && all_count != 1 ? "s" : "", by);
    for (int i = 0; events_here(w) && i < n_reset; i++)
        tile_event(w, reset_tiles[i], by, true);
    return true;
}

bool vw_wall_save(struct vw_wall *w, const char *scene, const char *name, const char *by,
                  struct vw_wall_error *e)
{
    char b[84];
    if (vw_config_find_scene(w->cfg, scene) >= 0)
        return fail(e, "scene_exists",
                    "the wall file has a scene '%s'; a saved scene needs an id of its own",
                    shown_id(scene, b, sizeof b));
    const struct vw_scene_cfg *sc = vw_wall_shown(w);
    struct vw_state_saved s = {.id = (char *)scene,
                               .name = (char *)(name ? name : scene),
                               .tile_count = sc->tile_count,
                               .by = (char *)by};
    s.tiles = calloc((size_t)(sc->tile_count ? sc->tile_count : 1), sizeof *s.tiles);
    if (!s.tiles)
        abort();
    for (int t = 0; t < sc->tile_count; t++) {
        struct vw_state_pick p = pick_of(w, t);
        s.tiles[t] = (struct vw_state_tile){.id = sc->tiles[t].id,
                                            .rect = sc->tiles[t].rect,
                                            .fit = sc->tiles[t].fit,
                                            .label = sc->tiles[t].label,
                                            .source = p.source,
                                            .url = p.url,
                                            .name = p.name};
    }
    struct vw_transition tr = {.kind = VW_T_SAVE, .by = by, .scene = scene, .saved = &s};
    bool ok = commit(w, &tr, false, e);
    free(s.tiles);
    if (!ok)
        return false;
    vw_info("scene '%s' saved from '%s' (%d tiles, by %s)", scene, sc->id, sc->tile_count, by);
    cJSON *ev = events_here(w) ? vw_wall_new_event(w, "scene.saved") : NULL;
    if (ev) {
        cJSON_AddStringToObject(ev, "scene", scene);
        cJSON_AddStringToObject(ev, "name", name ? name : scene);
        cJSON_AddStringToObject(ev, "by", by ? by : "wall");
        cJSON_AddNumberToObject(ev, "revision", (double)vw_store_state(w->store)->revision);
        vw_wall_emit(w, ev);
    }
    return true;
}

bool vw_wall_delete(struct vw_wall *w, const char *scene, const char *by, struct vw_wall_error *e)
{
    const struct vw_state *st = vw_store_state(w->store);
    if (!vw_state_find_saved(st, scene)) {
        char b[84];
        return fail(e, "not_saved",
                    "scene '%s' is not a saved scene (scenes of the wall file are changed in "
                    "the file)",
                    shown_id(scene, b, sizeof b));
    }
    /* A deleted scene stops showing first: off the stack, and the base back to default. */
    bool was_live = false;
    if (vw_state_is_pushed(st, scene, vw_realtime_ms())) {
        struct vw_transition pop = {.kind = VW_T_POP, .by = by, .scene = scene};
        was_live |= commit(w, &pop, false, e);
    }
    if (strcmp(vw_store_state(w->store)->base, scene) == 0) {
        struct vw_transition sw = {
            .kind = VW_T_SWITCH, .by = by, .scene = w->cfg->scenes[w->cfg->default_scene].id};
        was_live |= commit(w, &sw, false, e);
    }
    struct vw_transition tr = {.kind = VW_T_DELETE, .by = by, .scene = scene};
    if (!commit(w, &tr, was_live, e))
        return false;
    vw_info("saved scene '%s' deleted (by %s)", scene, by);
    cJSON *ev = events_here(w) ? vw_wall_new_event(w, "scene.deleted") : NULL;
    if (ev) {
        cJSON_AddStringToObject(ev, "scene", scene);
        cJSON_AddStringToObject(ev, "by", by ? by : "wall");
        cJSON_AddNumberToObject(ev, "revision", (double)vw_store_state(w->store)->revision);
        vw_wall_emit(w, ev);
    }
    return true;
}

uint64_t vw_wall_revision(const struct vw_wall *w)
{
    return vw_store_state(w->store)->revision;
}

const char *vw_wall_showing(const struct vw_wall *w)
{
    return vw_wall_shown(w)->id;
}

const char *vw_wall_base(const struct vw_wall *w)
{
    return vw_store_state(w->store)->base;
}

/* ---- a cluster's committed values ------------------------------------------------------- */

static bool same_pick(const struct vw_state_pick *a, const struct vw_state_pick *b)
{
    if (!a || !b)
        return a == b;
    return !strcmp(a->source, b->source) && !a->url == !b->url &&
           (!a->url || !strcmp(a->url, b->url));
}

static bool same_stack(const struct vw_state *a, const struct vw_state *b, int64_t now)
{
    if (a->stack_count != b->stack_count || strcmp(a->base, b->base) != 0 ||
        strcmp(vw_state_showing(a, now), vw_state_showing(b, now)) != 0)
        return false;
    for (int i = 0; i < a->stack_count; i++)
        if (a->stack[i].seq != b->stack[i].seq)
            return false;
    return true;
}

void vw_wall_adopted(struct vw_wall *w, const struct vw_state *prev)
{
    const struct vw_state *st = vw_store_state(w->store);
    const char *by = vw_store_by(w->store);
    if (!by[0])
        by = "cluster";
    int64_t now = vw_realtime_ms();
    bool scene_changed = !same_stack(prev, st, now);
    vw_wall_resolve(w, by, scene_changed);
    if (!scene_changed) {
        const struct vw_scene_cfg *sc = vw_wall_shown(w);
        for (int t = 0; t < sc->tile_count; t++) {
            const struct vw_state_pick *a = vw_state_pick(prev, sc->id, t);
            const struct vw_state_pick *b = vw_state_pick(st, sc->id, t);
            if (!same_pick(a, b))
                tile_event(w, t, b ? b->by : by, b == NULL);
        }
    }
    for (int i = 0; i < st->saved_count; i++) {
        const struct vw_state_saved *before = vw_state_find_saved(prev, st->saved[i].id);
        if (before && before->saved_at_ms == st->saved[i].saved_at_ms)
            continue;
        cJSON *ev = vw_wall_new_event(w, "scene.saved");
        if (ev) {
            cJSON_AddStringToObject(ev, "scene", st->saved[i].id);
            cJSON_AddStringToObject(ev, "name", st->saved[i].name ? st->saved[i].name : "");
            cJSON_AddStringToObject(ev, "by", st->saved[i].by ? st->saved[i].by : by);
            cJSON_AddNumberToObject(ev, "revision", (double)st->revision);
            vw_wall_emit(w, ev);
        }
    }
    for (int i = 0; i < prev->saved_count; i++) {
        if (vw_state_find_saved(st, prev->saved[i].id))
            continue;
        cJSON *ev = vw_wall_new_event(w, "scene.deleted");
        if (ev) {
            cJSON_AddStringToObject(ev, "scene", prev->saved[i].id);
            cJSON_AddStringToObject(ev, "by", by);
            cJSON_AddNumberToObject(ev, "revision", (double)st->revision);
            vw_wall_emit(w, ev);
        }
    }
}
