#include "state/wallstate.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

/* ---- memory ---------------------------------------------------------------------------- */

static void pick_free(struct vw_state_pick *p)
{
    free(p->source);
    free(p->url);
    free(p->name);
    free(p->by);
}

static struct vw_state_pick pick_copy(const struct vw_state_pick *p)
{
    return (struct vw_state_pick){.tile = p->tile,
                                  .source = vw_xstrdup(p->source),
                                  .url = vw_xstrdup(p->url),
                                  .name = vw_xstrdup(p->name),
                                  .by = vw_xstrdup(p->by)};
}

static void push_free(struct vw_state_push *p)
{
    free(p->scene);
    free(p->by);
}

static void picks_free(struct vw_state_picks *sp)
{
    for (int i = 0; i < sp->count; i++)
        pick_free(&sp->picks[i]);
    free(sp->picks);
    free(sp->scene);
}

static void tile_free(struct vw_state_tile *t)
{
    free(t->id);
    free(t->source);
    free(t->url);
    free(t->name);
}

static void saved_free(struct vw_state_saved *s)
{
    for (int i = 0; i < s->tile_count; i++)
        tile_free(&s->tiles[i]);
    free(s->tiles);
    free(s->id);
    free(s->name);
    free(s->by);
}

static struct vw_state_saved saved_copy(const struct vw_state_saved *s)
{
    struct vw_state_saved d = {.id = vw_xstrdup(s->id),
                               .name = vw_xstrdup(s->name),
                               .tile_count = s->tile_count,
                               .saved_at_ms = s->saved_at_ms,
                               .by = vw_xstrdup(s->by)};
    d.tiles = calloc((size_t)(s->tile_count ? s->tile_count : 1), sizeof *d.tiles);
    if (!d.tiles)
        abort();
    for (int i = 0; i < s->tile_count; i++) {
        const struct vw_state_tile *t = &s->tiles[i];
        d.tiles[i] = (struct vw_state_tile){.id = vw_xstrdup(t->id),
                                            .rect = t->rect,
                                            .fit = t->fit,
                                            .label = t->label,
                                            .source = vw_xstrdup(t->source),
                                            .url = vw_xstrdup(t->url),
                                            .name = vw_xstrdup(t->name)};
    }
    return d;
}

struct vw_transition *vw_transition_dup(const struct vw_transition *t)
{
    struct vw_transition *d = calloc(1, sizeof *d);
    if (!d)
        abort();
    *d = *t;
    d->by = vw_xstrdup(t->by);
    d->scene = vw_xstrdup(t->scene);
    d->pick = pick_copy(&t->pick);
    d->pick_b = pick_copy(&t->pick_b);
    if (t->saved) {
        struct vw_state_saved *sv = malloc(sizeof *sv);
        if (!sv)
            abort();
        *sv = saved_copy(t->saved);
        d->saved = sv;
    }
    return d;
}

void vw_transition_free(struct vw_transition *t)
{
    if (!t)
        return;
    free((char *)t->by);
    free((char *)t->scene);
    pick_free(&t->pick);
    pick_free(&t->pick_b);
    if (t->saved) {
        saved_free((struct vw_state_saved *)t->saved);
        free((struct vw_state_saved *)t->saved);
    }
    free(t);
}

void vw_state_init(struct vw_state *st, const char *base)
{
    memset(st, 0, sizeof *st);
    st->base = vw_xstrdup(base ? base : "");
}

void vw_state_finish(struct vw_state *st)
{
    free(st->base);
    for (int i = 0; i < st->stack_count; i++)
        push_free(&st->stack[i]);
    free(st->stack);
    for (int i = 0; i < st->picks_count; i++)
        picks_free(&st->picks[i]);
    free(st->picks);
    for (int i = 0; i < st->saved_count; i++)
        saved_free(&st->saved[i]);
    free(st->saved);
    memset(st, 0, sizeof *st);
}

void vw_state_copy(struct vw_state *dst, const struct vw_state *src)
{
    vw_state_init(dst, src->base);
    dst->revision = src->revision;
    dst->seq = src->seq;
    int cap = 0;
    for (int i = 0; i < src->stack_count; i++) {
        dst->stack = vw_grow(dst->stack, dst->stack_count, &cap, sizeof *dst->stack);
        struct vw_state_push p = src->stack[i];
        p.scene = vw_xstrdup(p.scene);
        p.by = vw_xstrdup(p.by);
        dst->stack[dst->stack_count++] = p;
    }
    cap = 0;
    for (int i = 0; i < src->picks_count; i++) {
        dst->picks = vw_grow(dst->picks, dst->picks_count, &cap, sizeof *dst->picks);
        const struct vw_state_picks *sp = &src->picks[i];
        struct vw_state_picks d = {.scene = vw_xstrdup(sp->scene), .count = sp->count};
        d.picks = calloc((size_t)(sp->count ? sp->count : 1), sizeof *d.picks);
        if (!d.picks)
            abort();
        for (int k = 0; k < sp->count; k++)
            d.picks[k] = pick_copy(&sp->picks[k]);
        dst->picks[dst->picks_count++] = d;
    }
    cap = 0;
    for (int i = 0; i < src->saved_count; i++) {
        dst->saved = vw_grow(dst->saved, dst->saved_count, &cap, sizeof *dst->saved);
        dst->saved[dst->saved_count++] = saved_copy(&src->saved[i]);
    }
}

/* ---- queries --------------------------------------------------------------------------- */

static bool expired(const struct vw_state_push *p, int64_t now_ms)
{
    return p->expires_at_ms > 0 && p->expires_at_ms <= now_ms;
}

const struct vw_state_push *vw_state_top(const struct vw_state *st, int64_t now_ms)
{
    const struct vw_state_push *top = NULL;
    for (int i = 0; i < st->stack_count; i++) {
        const struct vw_state_push *p = &st->stack[i];
        if (expired(p, now_ms))
            continue;
        if (!top || p->priority > top->priority ||
            (p->priority == top->priority && p->seq > top->seq))
            top = p;
    }
    return top;
}

int64_t vw_state_since(const struct vw_state *st, int64_t now_ms)
{
    const struct vw_state_push *p = vw_state_top(st, now_ms);
    return p ? p->pushed_at_ms : st->base_since_ms;
}

const char *vw_state_showing(const struct vw_state *st, int64_t now_ms)
{
    const struct vw_state_push *top = vw_state_top(st, now_ms);
    return top ? top->scene : st->base;
}

static int find_push(const struct vw_state *st, const char *scene)
{
    for (int i = 0; i < st->stack_count; i++)
        if (strcmp(st->stack[i].scene, scene) == 0)
            return i;
    return -1;
}

bool vw_state_is_pushed(const struct vw_state *st, const char *scene, int64_t now_ms)
{
    int i = find_push(st, scene);
    return i >= 0 && !expired(&st->stack[i], now_ms);
}

int64_t vw_state_next_expiry(const struct vw_state *st, int64_t now_ms)
{
    int64_t next = 0;
    for (int i = 0; i < st->stack_count; i++) {
        int64_t e = st->stack[i].expires_at_ms;
        if (e > now_ms && (next == 0 || e < next))
            next = e;
    }
    return next;
}

static int find_picks(const struct vw_state *st, const char *scene)
{
    for (int i = 0; i < st->picks_count; i++)
        if (strcmp(st->picks[i].scene, scene) == 0)
            return i;
    return -1;
}

const struct vw_state_picks *vw_state_picks(const struct vw_state *st, const char *scene)
{
    int i = find_picks(st, scene);
    return i >= 0 ? &st->picks[i] : NULL;
}

const struct vw_state_pick *vw_state_pick(const struct vw_state *st, const char *scene, int tile)
{
    const struct vw_state_picks *sp = vw_state_picks(st, scene);
    for (int i = 0; sp && i < sp->count; i++)
        if (sp->picks[i].tile == tile)
            return &sp->picks[i];
    return NULL;
}

static int find_saved(const struct vw_state *st, const char *id)
{
    for (int i = 0; i < st->saved_count; i++)
        if (strcmp(st->saved[i].id, id) == 0)
            return i;
    return -1;
}

const struct vw_state_saved *vw_state_find_saved(const struct vw_state *st, const char *id)
{
    int i = find_saved(st, id);
    return i >= 0 ? &st->saved[i] : NULL;
}

/* ---- transitions ----------------------------------------------------------------------- */

static void drop_picks_at(struct vw_state *st, int i)
{
    picks_free(&st->picks[i]);
    st->picks[i] = st->picks[--st->picks_count];
}

/* A scene's picks go once it is neither the base nor pushed (at now_ms). */
static void drop_picks_if_gone(struct vw_state *st, const char *scene, int64_t now_ms)
{
    if (strcmp(scene, st->base) == 0 || vw_state_is_pushed(st, scene, now_ms))
        return;
    int i = find_picks(st, scene);
    if (i >= 0)
        drop_picks_at(st, i);
}

static void remove_push(struct vw_state *st, int i)
{
    push_free(&st->stack[i]);
    memmove(&st->stack[i], &st->stack[i + 1],
            (size_t)(st->stack_count - i - 1) * sizeof *st->stack);
    st->stack_count--;
}

/* Sets (or replaces) the pick of p->tile in `scene`. */
static void set_pick(struct vw_state *st, const char *scene, const struct vw_state_pick *p,
                     const char *by)
{
    int i = find_picks(st, scene);
    if (i < 0) {
        int cap = st->picks_count; /* the array is always exactly full: grow by one */
        st->picks = realloc(st->picks, (size_t)(cap + 1) * sizeof *st->picks);
        if (!st->picks)
            abort();
        i = st->picks_count++;
        st->picks[i] = (struct vw_state_picks){.scene = vw_xstrdup(scene)};
    }
    struct vw_state_picks *sp = &st->picks[i];
    struct vw_state_pick copy = pick_copy(p);
    if (!copy.by)
        copy.by = vw_xstrdup(by);
    int at = 0;
    while (at < sp->count && sp->picks[at].tile < p->tile)
        at++;
    if (at < sp->count && sp->picks[at].tile == p->tile) {
        pick_free(&sp->picks[at]);
        sp->picks[at] = copy;
        return;
    }
    sp->picks = realloc(sp->picks, (size_t)(sp->count + 1) * sizeof *sp->picks);
    if (!sp->picks)
        abort();
    memmove(&sp->picks[at + 1], &sp->picks[at], (size_t)(sp->count - at) * sizeof *sp->picks);
    sp->picks[at] = copy;
    sp->count++;
}

static bool reset_pick(struct vw_state *st, const char *scene, int tile)
{
    int i = find_picks(st, scene);
    if (i < 0)
        return tile < 0;
    struct vw_state_picks *sp = &st->picks[i];
    if (tile < 0) {
        drop_picks_at(st, i);
        return true;
    }
    for (int k = 0; k < sp->count; k++) {
        if (sp->picks[k].tile == tile) {
            pick_free(&sp->picks[k]);
            memmove(&sp->picks[k], &sp->picks[k + 1],
                    (size_t)(sp->count - k - 1) * sizeof *sp->picks);
            if (--sp->count == 0)
                drop_picks_at(st, i);
            return true;
        }
    }
    return false;
}

const char *vw_state_apply(struct vw_state *st, const struct vw_transition *t)
{
    int64_t now = t->now_ms;
    switch (t->kind) {
    case VW_T_SWITCH: {
        if (strcmp(t->scene, st->base) != 0) {
            char *old = st->base;
            st->base = vw_xstrdup(t->scene);
            st->base_since_ms = now;
            drop_picks_if_gone(st, old, now);
            free(old);
        }
        break;
    }
    case VW_T_PUSH: {
        bool was_live = strcmp(t->scene, st->base) == 0 || vw_state_is_pushed(st, t->scene, now);
        int i = find_push(st, t->scene);
        if (i >= 0)
            remove_push(st, i);
        if (!was_live) { /* picks left over from an earlier life of this scene */
            int k = find_picks(st, t->scene);
            if (k >= 0)
                drop_picks_at(st, k);
        }
        int cap = st->stack_count;
        st->stack = realloc(st->stack, (size_t)(cap + 1) * sizeof *st->stack);
        if (!st->stack)
            abort();
        int64_t ttl = t->ttl_ms > 0 ? t->ttl_ms : 0;
        st->stack[st->stack_count++] = (struct vw_state_push){
            .scene = vw_xstrdup(t->scene),
            .priority = t->priority,
            .pushed_at_ms = now,
            .expires_at_ms = ttl ? now + ttl : 0,
            .seq = ++st->seq,
            .by = vw_xstrdup(t->by),
        };
        break;
    }
    case VW_T_POP: {
        int i = find_push(st, t->scene);
        if (i < 0 || expired(&st->stack[i], now))
            return "not_pushed";
        remove_push(st, i);
        drop_picks_if_gone(st, t->scene, now);
        break;
    }
    case VW_T_CLEAR: {
        while (st->stack_count > 0) {
            char *scene = vw_xstrdup(st->stack[0].scene);
            remove_push(st, 0);
            drop_picks_if_gone(st, scene, now);
            free(scene);
        }
        break;
    }
    case VW_T_ASSIGN: set_pick(st, t->scene, &t->pick, t->by); break;
    case VW_T_SWAP:
        set_pick(st, t->scene, &t->pick, t->by);
        set_pick(st, t->scene, &t->pick_b, t->by);
        break;
    case VW_T_RESET:
        if (!reset_pick(st, t->scene, t->pick.tile))
            return "bad_tile";
        break;
    case VW_T_SAVE: {
        int i = find_saved(st, t->saved->id);
        struct vw_state_saved copy = saved_copy(t->saved);
        copy.saved_at_ms = now;
        if (!copy.by)
            copy.by = vw_xstrdup(t->by);
        if (i >= 0) {
            saved_free(&st->saved[i]);
            st->saved[i] = copy;
        } else {
            st->saved = realloc(st->saved, (size_t)(st->saved_count + 1) * sizeof *st->saved);
            if (!st->saved)
                abort();
            st->saved[st->saved_count++] = copy;
        }
        break;
    }
    case VW_T_DELETE: {
        int i = find_saved(st, t->scene);
        if (i < 0)
            return "not_saved";
        saved_free(&st->saved[i]);
        memmove(&st->saved[i], &st->saved[i + 1],
                (size_t)(st->saved_count - i - 1) * sizeof *st->saved);
        st->saved_count--;
        break;
    }
    }
    st->revision++;
    return NULL;
}

bool vw_state_prune(struct vw_state *st, int64_t now_ms)
{
    bool any = false;
    for (int i = 0; i < st->stack_count;) {
        if (expired(&st->stack[i], now_ms)) {
            char *scene = vw_xstrdup(st->stack[i].scene);
            remove_push(st, i);
            drop_picks_if_gone(st, scene, now_ms);
            free(scene);
            any = true;
        } else {
            i++;
        }
    }
    return any;
}

bool vw_state_retain(struct vw_state *st, int (*tiles)(void *ud, const char *scene),
                     bool (*source_ok)(void *ud, const char *source), void *ud,
                     const char *fallback)
{
    bool changed = false;
    if (tiles(ud, st->base) < 0) {
        free(st->base);
        st->base = vw_xstrdup(fallback);
        changed = true;
    }
    for (int i = 0; i < st->stack_count;) {
        if (tiles(ud, st->stack[i].scene) < 0) {
            remove_push(st, i);
            changed = true;
        } else {
            i++;
        }
    }
    for (int i = 0; i < st->picks_count;) {
        struct vw_state_picks *sp = &st->picks[i];
        int n = tiles(ud, sp->scene);
        int kept = 0;
        for (int k = 0; k < sp->count; k++) {
            struct vw_state_pick *p = &sp->picks[k];
            if (p->tile < n && (p->url || source_ok(ud, p->source)))
                sp->picks[kept++] = *p;
            else
                pick_free(p);
        }
        changed |= kept != sp->count;
        sp->count = kept;
        if (kept == 0) {
            drop_picks_at(st, i);
            changed = true;
        } else {
            i++;
        }
    }
    for (int i = 0; i < st->saved_count; i++) {
        struct vw_state_saved *s = &st->saved[i];
        int kept = 0;
        for (int k = 0; k < s->tile_count; k++) {
            struct vw_state_tile *t = &s->tiles[k];
            if (t->url || source_ok(ud, t->source))
                s->tiles[kept++] = *t;
            else
                tile_free(t);
        }
        changed |= kept != s->tile_count;
        s->tile_count = kept;
    }
    return changed;
}

/* ---- JSON ------------------------------------------------------------------------------ */

static void add_str(cJSON *o, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, key, v);
}

static void add_source(cJSON *o, const char *source, const char *url, const char *name)
{
    add_str(o, "source", source);
    add_str(o, "url", url);
    add_str(o, "name", name);
}

cJSON *vw_state_to_json(const struct vw_state *st)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "revision", (double)st->revision);
    cJSON_AddStringToObject(o, "base", st->base);
    if (st->base_since_ms)
        cJSON_AddNumberToObject(o, "base_since_ms", (double)st->base_since_ms);
    cJSON_AddNumberToObject(o, "seq", (double)st->seq);
    cJSON *stack = cJSON_AddArrayToObject(o, "stack");
    for (int i = 0; i < st->stack_count; i++) {
        const struct vw_state_push *p = &st->stack[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "scene", p->scene);
        cJSON_AddNumberToObject(e, "priority", p->priority);
        cJSON_AddNumberToObject(e, "pushed_at", (double)p->pushed_at_ms);
        cJSON_AddNumberToObject(e, "expires_at", (double)p->expires_at_ms);
        cJSON_AddNumberToObject(e, "seq", (double)p->seq);
        add_str(e, "by", p->by);
        cJSON_AddItemToArray(stack, e);
    }
    cJSON *picks = cJSON_AddObjectToObject(o, "picks");
    for (int i = 0; i < st->picks_count; i++) {
        const struct vw_state_picks *sp = &st->picks[i];
        cJSON *arr = cJSON_AddArrayToObject(picks, sp->scene);
        for (int k = 0; k < sp->count; k++) {
            const struct vw_state_pick *p = &sp->picks[k];
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "tile", p->tile);
            add_source(e, p->source, p->url, p->name);
            add_str(e, "by", p->by);
            cJSON_AddItemToArray(arr, e);
        }
    }
    cJSON *saved = cJSON_AddArrayToObject(o, "saved");
    for (int i = 0; i < st->saved_count; i++) {
        const struct vw_state_saved *s = &st->saved[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "id", s->id);
        add_str(e, "name", s->name);
        cJSON_AddNumberToObject(e, "saved_at", (double)s->saved_at_ms);
        add_str(e, "by", s->by);
        cJSON *tiles = cJSON_AddArrayToObject(e, "tiles");
        for (int k = 0; k < s->tile_count; k++) {
            const struct vw_state_tile *t = &s->tiles[k];
            cJSON *te = cJSON_CreateObject();
            add_str(te, "id", t->id);
            double r[4] = {t->rect.x, t->rect.y, t->rect.w, t->rect.h};
            cJSON_AddItemToObject(te, "rect", cJSON_CreateDoubleArray(r, 4));
            cJSON_AddStringToObject(te, "fit",
                                    t->fit == VW_FIT_FILL      ? "fill"
                                    : t->fit == VW_FIT_STRETCH ? "stretch"
                                                               : "fit");
            cJSON_AddBoolToObject(te, "label", t->label);
            add_source(te, t->source, t->url, t->name);
            cJSON_AddItemToArray(tiles, te);
        }
        cJSON_AddItemToArray(saved, e);
    }
    return o;
}

/* Readers: each fails with a reason naming the field. */
struct reader {
    char *why;
    size_t cap;
    bool ok;
};

static void bad(struct reader *r, const char *what)
{
    if (r->ok)
        snprintf(r->why, r->cap, "%s", what);
    r->ok = false;
}

static char *get_str(struct reader *r, const cJSON *o, const char *key, bool required)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsString(v))
        return vw_xstrdup(v->valuestring);
    if (v || required) {
        char msg[96];
        snprintf(msg, sizeof msg, "\"%s\" must be a string", key);
        bad(r, msg);
    }
    return NULL;
}

static double get_num(struct reader *r, const cJSON *o, const char *key, double lo, double hi)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= lo &&
        v->valuedouble <= hi)
        return v->valuedouble;
    char msg[96];
    snprintf(msg, sizeof msg, "\"%s\" must be a number from %g to %g", key, lo, hi);
    bad(r, msg);
    return 0;
}

#define MAX_MS 9.0e15 /* well inside a double's exact integers */

bool vw_state_from_json(const cJSON *j, struct vw_state *out, char *why, size_t why_cap)
{
    struct reader r = {.why = why, .cap = why_cap, .ok = true};
    struct vw_state st;
    memset(&st, 0, sizeof st);
    if (!cJSON_IsObject(j)) {
        bad(&r, "not a JSON object");
        return false;
    }
    st.revision = (uint64_t)get_num(&r, j, "revision", 0, MAX_MS);
    st.seq = (uint64_t)get_num(&r, j, "seq", 0, MAX_MS);
    st.base = get_str(&r, j, "base", true);
    if (cJSON_GetObjectItemCaseSensitive(j, "base_since_ms")) /* older values have none */
        st.base_since_ms = (int64_t)get_num(&r, j, "base_since_ms", 0, MAX_MS);
    const cJSON *stack = cJSON_GetObjectItemCaseSensitive(j, "stack");
    const cJSON *e;
    if (!cJSON_IsArray(stack))
        bad(&r, "\"stack\" must be an array");
    else
        cJSON_ArrayForEach(e, stack)
        {
            if (!r.ok)
                break;
            struct vw_state_push p = {
                .scene = get_str(&r, e, "scene", true),
                .priority = (int)get_num(&r, e, "priority", -1e6, 1e6),
                .pushed_at_ms = (int64_t)get_num(&r, e, "pushed_at", 0, MAX_MS),
                .expires_at_ms = (int64_t)get_num(&r, e, "expires_at", 0, MAX_MS),
                .seq = (uint64_t)get_num(&r, e, "seq", 0, MAX_MS),
                .by = get_str(&r, e, "by", false),
            };
            st.stack = realloc(st.stack, (size_t)(st.stack_count + 1) * sizeof *st.stack);
            if (!st.stack)
                abort();
            st.stack[st.stack_count++] = p;
        }
    const cJSON *picks = cJSON_GetObjectItemCaseSensitive(j, "picks");
    if (!cJSON_IsObject(picks))
        bad(&r, "\"picks\" must be an object");
    else
        cJSON_ArrayForEach(e, picks)
        {
            if (!r.ok)
                break;
            if (!cJSON_IsArray(e)) {
                bad(&r, "each scene's picks must be an array");
                break;
            }
            const cJSON *pe;
            cJSON_ArrayForEach(pe, e)
            {
                struct vw_state_pick p = {
                    .tile = (int)get_num(&r, pe, "tile", 0, 1e6),
                    .source = get_str(&r, pe, "source", true),
                    .url = get_str(&r, pe, "url", false),
                    .name = get_str(&r, pe, "name", false),
                    .by = get_str(&r, pe, "by", false),
                };
                if (r.ok)
                    set_pick(&st, e->string, &p, NULL);
                pick_free(&p);
                if (!r.ok)
                    break;
            }
        }
    const cJSON *saved = cJSON_GetObjectItemCaseSensitive(j, "saved");
    if (!cJSON_IsArray(saved))
        bad(&r, "\"saved\" must be an array");
    else
        cJSON_ArrayForEach(e, saved)
        {
            if (!r.ok)
                break;
            struct vw_state_saved s = {
                .id = get_str(&r, e, "id", true),
                .name = get_str(&r, e, "name", false),
                .saved_at_ms = (int64_t)get_num(&r, e, "saved_at", 0, MAX_MS),
                .by = get_str(&r, e, "by", false),
            };
            const cJSON *tiles = cJSON_GetObjectItemCaseSensitive(e, "tiles");
            int n = cJSON_GetArraySize(tiles);
            if (!cJSON_IsArray(tiles))
                bad(&r, "\"tiles\" must be an array");
            s.tiles = calloc((size_t)(n ? n : 1), sizeof *s.tiles);
            if (!s.tiles)
                abort();
            const cJSON *te;
            cJSON_ArrayForEach(te, tiles)
            {
                if (!r.ok)
                    break;
                struct vw_state_tile *t = &s.tiles[s.tile_count++];
                t->id = get_str(&r, te, "id", false);
                t->source = get_str(&r, te, "source", true);
                t->url = get_str(&r, te, "url", false);
                t->name = get_str(&r, te, "name", false);
                const cJSON *rect = cJSON_GetObjectItemCaseSensitive(te, "rect");
                double v[4] = {0, 0, 0, 0};
                if (cJSON_GetArraySize(rect) != 4) {
                    bad(&r, "\"rect\" must be 4 numbers");
                } else {
                    for (int k = 0; k < 4; k++) {
                        const cJSON *x = cJSON_GetArrayItem(rect, k);
                        if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble) ||
                            fabs(x->valuedouble) > 1e6)
                            bad(&r, "\"rect\" must be 4 numbers");
                        else
                            v[k] = x->valuedouble;
                    }
                }
                t->rect = (struct vw_rect){v[0], v[1], v[2], v[3]};
                char *fit = get_str(&r, te, "fit", false);
                t->fit = fit && strcmp(fit, "fill") == 0      ? VW_FIT_FILL
                         : fit && strcmp(fit, "stretch") == 0 ? VW_FIT_STRETCH
                                                              : VW_FIT_FIT;
                free(fit);
                t->label = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(te, "label"));
            }
            st.saved = realloc(st.saved, (size_t)(st.saved_count + 1) * sizeof *st.saved);
            if (!st.saved)
                abort();
            st.saved[st.saved_count++] = s;
        }
    if (!r.ok) {
        if (!st.base)
            st.base = vw_xstrdup("");
        vw_state_finish(&st);
        return false;
    }
    *out = st;
    return true;
}

bool vw_state_equal(const struct vw_state *a, const struct vw_state *b)
{
    cJSON *ja = vw_state_to_json(a), *jb = vw_state_to_json(b);
    bool eq = cJSON_Compare(ja, jb, true);
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    return eq;
}
