/* report: the wall as JSON for the control socket — status, sources (searched and paged),
 * scenes with the stack, the tiles of the scene showing. Reads only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "cluster/cluster.h"
#include "wall/internal.h"

static void add_str_or_null(cJSON *o, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

/* ---- scenes ---------------------------------------------------------------------------- */

#define MAX_LISTED_PUSHES 256

/* The indices of the live pushes in st->stack, in showing order (highest priority, then the
 * latest push); returns how many. */
static int showing_order(const struct vw_state *st, int64_t now, int *order, int cap)
{
    int live = 0;
    for (int i = 0; i < st->stack_count && live < cap; i++)
        if (vw_state_is_pushed(st, st->stack[i].scene, now))
            order[live++] = i;
    for (int a = 1; a < live; a++) { /* insertion sort: a handful of incidents */
        int x = order[a], b = a - 1;
        const struct vw_state_push *px = &st->stack[x];
        while (b >= 0) {
            const struct vw_state_push *pb = &st->stack[order[b]];
            if (pb->priority > px->priority || (pb->priority == px->priority && pb->seq > px->seq))
                break;
            order[b + 1] = order[b];
            b--;
        }
        order[b + 1] = x;
    }
    return live;
}

static cJSON *ttl_left(const struct vw_state_push *p, int64_t now)
{
    if (p->expires_at_ms <= 0)
        return cJSON_CreateNull();
    return cJSON_CreateNumber(round((double)(p->expires_at_ms - now) / 100) / 10);
}

cJSON *vw_wall_scenes_json(const struct vw_wall *w)
{
    const struct vw_state *st = vw_store_state(w->store);
    int64_t now = vw_realtime_ms();
    int order[MAX_LISTED_PUSHES];
    int live = showing_order(st, now, order, MAX_LISTED_PUSHES);
    const char *showing = vw_wall_shown(w)->id;
    cJSON *arr = cJSON_CreateArray();
    for (int k = 0; k < vw_wall_scene_count(w); k++) {
        const struct vw_scene_cfg *sc = vw_wall_scene_at(w, k);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", sc->id);
        cJSON_AddStringToObject(o, "name", sc->name);
        cJSON_AddNumberToObject(o, "tiles", sc->tile_count);
        cJSON_AddBoolToObject(o, "saved", k >= w->cfg->scene_count);
        cJSON_AddBoolToObject(o, "showing", strcmp(sc->id, showing) == 0);
        cJSON_AddBoolToObject(o, "base", strcmp(sc->id, st->base) == 0);
        cJSON_AddBoolToObject(o, "default", k == w->cfg->default_scene);
        int pos = -1;
        for (int i = 0; i < live; i++)
            if (strcmp(st->stack[order[i]].scene, sc->id) == 0)
                pos = i;
        if (pos >= 0) {
            const struct vw_state_push *p = &st->stack[order[pos]];
            cJSON_AddNumberToObject(o, "stack_position", pos);
            cJSON_AddNumberToObject(o, "priority", p->priority);
            cJSON_AddItemToObject(o, "ttl_left", ttl_left(p, now));
            add_str_or_null(o, "pushed_by", p->by);
        } else {
            cJSON_AddNullToObject(o, "stack_position");
        }
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* ---- sources --------------------------------------------------------------------------- */

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* Whether `needle` occurs in `hay`, ASCII letters compared without case; other bytes
 * (Chinese and every other non-ASCII character) exactly, so UTF-8 matches whole
 * characters. */
static bool contains_ci(const char *hay, const char *needle)
{
    if (!hay)
        return false;
    size_t n = strlen(needle);
    if (n == 0)
        return true;
    for (const char *h = hay; *h; h++) {
        size_t i = 0;
        while (i < n && h[i] && lower((unsigned char)h[i]) == lower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return false;
}

static bool matches(const struct vw_wall *w, int i, const struct vw_source_query *q,
                    const struct vw_source_stats *st)
{
    const struct vw_source_cfg *c = vw_wall_source_cfg(w, i);
    if (q->adhoc_only && !vw_wall_source_is_adhoc(w, i))
        return false;
    if (q->group && (!c->group || strncmp(c->group, q->group, strlen(q->group)) != 0))
        return false;
    if (q->query && !contains_ci(c->id, q->query) && !contains_ci(c->name, q->query) &&
        !contains_ci(c->group, q->query))
        return false;
    if (q->states && !(q->states & (1u << st->state)))
        return false;
    return true;
}

static cJSON *source_json(const struct vw_wall *w, int i, const struct vw_source_stats *st)
{
    const struct vw_source_cfg *sc = vw_wall_source_cfg(w, i);
    struct source_rt *rt = vw_wall_rt(w, i);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", sc->id);
    cJSON_AddStringToObject(o, "name", sc->name);
    add_str_or_null(o, "group", sc->group);
    cJSON *nodes = w->cluster ? vw_cluster_source_nodes(w->cluster, sc->id) : NULL;
    const char *state = vw_source_state_name(st->state);
    if (w->cluster) {
        /* The whole wall's view: the nodes decoding it (this one too), and its state on the
         * first of them when this node does not decode it. */
        bool here = rt && rt->src;
        if (here) {
            if (!nodes)
                nodes = cJSON_CreateArray();
            cJSON *me = cJSON_CreateObject();
            cJSON_AddStringToObject(me, "node", vw_cluster_node(w->cluster));
            cJSON_AddStringToObject(me, "state", state);
            cJSON_InsertItemInArray(nodes, 0, me);
        } else if (nodes) {
            state = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(nodes, 0), "state")
                        ->valuestring;
        }
        cJSON_AddItemToObject(o, "nodes", nodes ? nodes : cJSON_CreateArray());
    }
    cJSON_AddStringToObject(o, "state", state);
    cJSON_AddNumberToObject(o, "width", st->width);
    cJSON_AddNumberToObject(o, "height", st->height);
    cJSON_AddNumberToObject(o, "fps", round(st->fps * 10) / 10);
    cJSON_AddNumberToObject(o, "frames_decoded", (double)st->frames_decoded);
    cJSON_AddNumberToObject(o, "frames_shown", (double)st->frames_shown);
    cJSON_AddNumberToObject(o, "frames_late", (double)st->frames_late);
    cJSON_AddBoolToObject(o, "skip_nonref", rt && rt->src && rt->skip_nonref);
    cJSON_AddStringToObject(o, "shed", vw_source_shed_name(st->shed));
    cJSON_AddNumberToObject(o, "catchups", (double)st->catchups);
    if (st->last_frame_age_ms >= 0)
        cJSON_AddNumberToObject(o, "last_frame_age_ms", (double)st->last_frame_age_ms);
    else
        cJSON_AddNullToObject(o, "last_frame_age_ms");
    cJSON_AddNumberToObject(o, "reconnects", st->reconnects);
    cJSON_AddNumberToObject(o, "backoff_ms", (double)st->backoff_ms);
    add_str_or_null(o, "error", st->error[0] ? st->error : NULL);
    cJSON_AddBoolToObject(o, "substream", st->substream);
    cJSON_AddBoolToObject(o, "hw", st->hw);
    cJSON_AddBoolToObject(o, "sync", st->sync);
    bool adhoc = vw_wall_source_is_adhoc(w, i);
    cJSON_AddBoolToObject(o, "warm", !adhoc && sc->warm);
    cJSON_AddBoolToObject(o, "adhoc", adhoc);
    cJSON_AddBoolToObject(o, "shown", rt && rt->in_scene);
    if (adhoc)
        cJSON_AddStringToObject(o, "url", sc->url);
    return o;
}

cJSON *vw_wall_sources_json(const struct vw_wall *w, const struct vw_source_query *q, int *total)
{
    static const struct vw_source_query all = {.limit = -1};
    if (!q)
        q = &all;
    cJSON *arr = cJSON_CreateArray();
    int matched = 0, listed = 0;
    for (int i = 0; i < vw_wall_source_count(w); i++) {
        if (vw_wall_source_is_adhoc(w, i) && !w->adhoc[i - w->cfg->source_count].used)
            continue;
        struct vw_source_stats st;
        vw_wall_source_stats(w, i, &st);
        if (!matches(w, i, q, &st))
            continue;
        if (matched++ < q->offset)
            continue;
        if (q->limit >= 0 && listed >= q->limit)
            continue; /* counted for total, not listed */
        cJSON_AddItemToArray(arr, source_json(w, i, &st));
        listed++;
    }
    if (total)
        *total = matched;
    return arr;
}

/* ---- tiles ----------------------------------------------------------------------------- */

cJSON *vw_wall_tiles_json(const struct vw_wall *w)
{
    const struct vw_scene_cfg *sc = vw_wall_shown(w);
    const struct vw_state *st = vw_store_state(w->store);
    cJSON *arr = cJSON_CreateArray();
    for (int t = 0; t < sc->tile_count; t++) {
        const struct vw_tile_cfg *tc = &sc->tiles[t];
        int src = vw_wall_tile_source(w, t);
        struct vw_source_stats ss;
        vw_wall_source_stats(w, src, &ss);
        const struct vw_state_pick *p = vw_state_pick(st, sc->id, t);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "index", t);
        add_str_or_null(o, "id", tc->id);
        double r[4] = {tc->rect.x, tc->rect.y, tc->rect.w, tc->rect.h};
        cJSON_AddItemToObject(o, "rect", cJSON_CreateDoubleArray(r, 4));
        cJSON_AddStringToObject(o, "source", vw_wall_source_cfg(w, src)->id);
        cJSON_AddStringToObject(o, "name", vw_wall_source_cfg(w, src)->name);
        cJSON_AddStringToObject(o, "configured_source", vw_wall_source_cfg(w, tc->source)->id);
        add_str_or_null(o, "assigned_by", p ? (p->by ? p->by : "?") : NULL);
        cJSON_AddStringToObject(o, "state", vw_source_state_name(ss.state));
        cJSON_AddStringToObject(o, "fit",
                                tc->fit == VW_FIT_FILL      ? "fill"
                                : tc->fit == VW_FIT_STRETCH ? "stretch"
                                                            : "fit");
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* ---- status ---------------------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

cJSON *vw_wall_status_json(const struct vw_wall *w)
{
    const struct vw_state *st = vw_store_state(w->store);
    int64_t now_ms = vw_realtime_ms();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "scene", vw_wall_shown(w)->id);
    cJSON_AddStringToObject(o, "base_scene", st->base);
    cJSON_AddNumberToObject(o, "revision", (double)st->revision);
    cJSON *stack = cJSON_AddArrayToObject(o, "stack");
    int order[MAX_LISTED_PUSHES];
    int live = showing_order(st, now_ms, order, MAX_LISTED_PUSHES);
    for (int i = 0; i < live; i++) {
        const struct vw_state_push *p = &st->stack[order[i]];
        cJSON *it = cJSON_CreateObject();
        cJSON_AddStringToObject(it, "scene", p->scene);
        cJSON_AddNumberToObject(it, "priority", p->priority);
        cJSON_AddItemToObject(it, "ttl_left", ttl_left(p, now_ms));
        add_str_or_null(it, "by", p->by);
        cJSON_AddItemToArray(stack, it);
    }
    cJSON_AddNumberToObject(o, "uptime_s", round((double)(vw_now_us() - w->started_us) / 1e5) / 10);
    cJSON_AddNumberToObject(o, "render_fps", round(w->render_fps * 10) / 10);
    cJSON_AddNumberToObject(o, "frames_rendered", (double)w->frames_rendered);
    /* the render thread alone (composition, uploads, GL); decoding runs in other threads */
    cJSON_AddNumberToObject(o, "render_cpu_s",
                            round((vw_wall_thread_cpu_s() - w->render_cpu_at_start) * 1000) / 1000);
    cJSON_AddNumberToObject(o, "render_load", round(w->render_load * 100) / 100);
    cJSON_AddNumberToObject(o, "frames_uploaded", (double)w->frames_uploaded);
    cJSON_AddNumberToObject(o, "frames_dropped", (double)vw_wall_frames_dropped(w));
    bool over = w->overload_until > vw_now_s();
    cJSON_AddBoolToObject(o, "overloaded", over);
    add_str_or_null(o, "overload_reason", over ? w->overload_reason : NULL);
    int decoding = 0;
    for (int k = 0; k < w->active_count; k++)
        decoding += w->active[k]->src != NULL;
    cJSON_AddNumberToObject(o, "sources", w->cfg->source_count);
    cJSON_AddNumberToObject(o, "sources_decoding", decoding);
    int adhoc = 0;
    for (int k = 0; k < w->adhoc_count; k++)
        adhoc += w->adhoc[k].used;
    cJSON_AddNumberToObject(o, "adhoc_sources", adhoc);
    cJSON_AddNumberToObject(o, "screens", vw_outputs_panels_on(w->outputs));
    cJSON_AddNumberToObject(o, "outputs", vw_outputs_count(w->outputs));
    cJSON_AddStringToObject(o, "compose", vw_compose_name(vw_renderer_compose(w->renderer)));
    cJSON_AddStringToObject(o, "gl_renderer", vw_renderer_gl_name(w->renderer));
    cJSON_AddBoolToObject(o, "reloading", w->reloading);
    add_str_or_null(o, "state_file", vw_store_path(w->store));
    if (w->last_switch_ms >= 0)
        cJSON_AddNumberToObject(o, "switch_ms", w->last_switch_ms);
    else
        cJSON_AddNullToObject(o, "switch_ms");
    if (w->latency_count > 0) {
        cJSON_AddNumberToObject(o, "latency_p50_ms", vw_wall_latency_ms(w, 50));
        cJSON_AddNumberToObject(o, "latency_p99_ms", vw_wall_latency_ms(w, 99));
    } else {
        cJSON_AddNullToObject(o, "latency_p50_ms");
        cJSON_AddNullToObject(o, "latency_p99_ms");
    }
    if (w->cluster) {
        const char *hash = vw_store_hash(w->store);
        cJSON_AddStringToObject(o, "node", vw_cluster_node(w->cluster));
        cJSON *cl = cJSON_AddObjectToObject(o, "cluster");
        cJSON_AddStringToObject(cl, "name", w->cfg->cluster.name);
        cJSON_AddBoolToObject(cl, "connected", vw_cluster_connected(w->cluster));
        cJSON_AddBoolToObject(cl, "config_mismatch", vw_cluster_mismatch(w->cluster, hash));
        cJSON_AddNumberToObject(cl, "lead_ms", w->cfg->cluster.lead_ms);
        cJSON_AddItemToObject(o, "nodes", vw_cluster_nodes_json(w->cluster, hash));
    } else {
        cJSON_AddNullToObject(o, "node");
    }
    return o;
}

double vw_wall_latency_ms(const struct vw_wall *w, int pct)
{
    if (w->latency_count <= 0)
        return -1;
    int64_t sorted[LATENCY_SAMPLES];
    memcpy(sorted, w->latency_us, sizeof sorted[0] * (size_t)w->latency_count);
    qsort(sorted, (size_t)w->latency_count, sizeof sorted[0], cmp_i64);
    return sorted[(w->latency_count * pct) / 100] / 100 / 10.0;
}
