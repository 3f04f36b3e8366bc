/* wall: the running wall. Owns the model (config), the store of what shows, the sources that
 * decode, the outputs and the renderer. Main thread only.
 *
 * Each tick: SDL events → incident expiry → a finished reload → which sources should decode
 * (the scene showing ∪ warm ∪ lingering) → source state changes become events → when a
 * render is due, take each source's newest frame (uploading only new ones, once per source
 * however many tiles show it) and draw every panel of every output. */
#include "wall/wall.h"

#include <SDL.h>
#include <errno.h>
#include <libavutil/frame.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "cluster/cluster.h"
#include "render/png.h"
#include "render/renderer.h"
#include "wall/framelog.h"
#include "wall/internal.h"

#ifndef VWALL_SHADER_DIR
#define VWALL_SHADER_DIR "shaders"
#endif

/* Main-stream size assumed until one is decoded: what most IP cameras send. */
#define MAIN_STREAM_AREA_GUESS (1920.0 * 1080.0)
/* After this long without a frame, a tile gives up its last picture for the slate. */
#define KEEP_LAST_FRAME_S 60.0
/* An ad-hoc camera lingers like a wall-file source by default. */
#define ADHOC_LINGER_S 10.0
/* A redraw should take no longer than this (taking new frames, uploading, drawing): the
 * render loop also answers the control socket, and a tile's new frame waits for it. */
#ifndef RENDER_PASS_TARGET_US /* -D...=10000000 builds it without a budget, to measure it */
#define RENDER_PASS_TARGET_US 25000
#endif
#define TAKE_BUDGET_MAX 100000 /* no limit: more than any wall has tiles */
#define TAKE_BUDGET_MIN 4      /* a slow machine's redraws still move a few tiles each */

void vw_wall_set_events(struct vw_wall *w, bool on)
{
    w->events_on = on;
    if (!on)
        while (cJSON_GetArraySize(w->events) > 0)
            cJSON_DeleteItemFromArray(w->events, 0);
}

cJSON *vw_wall_take_event(struct vw_wall *w)
{
    if (cJSON_GetArraySize(w->events) == 0)
        return NULL;
    return cJSON_DetachItemFromArray(w->events, 0);
}

static void wakeup(void *ud)
{
    int fd = *(int *)ud;
    uint64_t one = 1;
    ssize_t n = write(fd, &one, sizeof one);
    (void)n; /* a full counter already wakes the loop */
}

/* CPU seconds the calling thread has used: the wall's (the render thread's) for status. */
double vw_wall_thread_cpu_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the source table ------------------------------------------------------------------ */

int vw_wall_source_count(const struct vw_wall *w)
{
    return w->cfg->source_count + w->adhoc_count;
}

const struct vw_source_cfg *vw_wall_source_cfg(const struct vw_wall *w, int i)
{
    return i < w->cfg->source_count ? &w->cfg->sources[i] : &w->adhoc[i - w->cfg->source_count].cfg;
}

bool vw_wall_source_is_adhoc(const struct vw_wall *w, int i)
{
    return i >= w->cfg->source_count;
}

int vw_wall_find_source(const struct vw_wall *w, const char *id)
{
    int i = vw_config_find_source(w->cfg, id);
    if (i >= 0)
        return i;
    for (int k = 0; k < w->adhoc_count; k++)
        if (w->adhoc[k].used && strcmp(w->adhoc[k].cfg.id, id) == 0)
            return w->cfg->source_count + k;
    return -1;
}

struct source_rt *vw_wall_rt(const struct vw_wall *w, int i)
{
    return i < w->rt_of_cap ? w->rt_of[i] : NULL;
}

/* rt_of covers every source index. */
static void size_rt_of(struct vw_wall *w)
{
    int need = vw_wall_source_count(w);
    if (need <= w->rt_of_cap)
        return;
    int cap = need + 16;
    struct source_rt **p = realloc(w->rt_of, sizeof *p * (size_t)cap);
    if (!p)
        abort();
    for (int i = w->rt_of_cap; i < cap; i++)
        p[i] = NULL;
    w->rt_of = p;
    w->rt_of_cap = cap;
}

/* The camera's name for a URL with no name given: the URL without its password. */
static char *name_from_url(const char *url)
{
    char *n = strdup(url);
    if (!n)
        return NULL;
    char *scheme = strstr(n, "://");
    char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    char *slash = scheme ? strchr(scheme + 3, '/') : NULL;
    if (at && (!slash || at < slash))
        memmove(scheme + 3, at + 1, strlen(at + 1) + 1);
    return n;
}

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

int vw_wall_adhoc_source(struct vw_wall *w, const char *url, const char *name)
{
    for (int k = 0; k < w->adhoc_count; k++) {
        struct adhoc *a = &w->adhoc[k];
        if (a->used && strcmp(a->cfg.url, url) == 0) {
            if (name && strcmp(name, a->cfg.name) != 0) { /* a newer name wins */
                char *n = strdup(name);
                if (n) {
                    free(a->cfg.name);
                    a->cfg.name = n;
                }
            }
            return w->cfg->source_count + k;
        }
    }
    int k = 0;
    while (k < w->adhoc_count && (w->adhoc[k].used || vw_wall_rt(w, w->cfg->source_count + k)))
        k++;
    if (k == w->adhoc_count) {
        struct adhoc *p = realloc(w->adhoc, sizeof *p * (size_t)(w->adhoc_count + 1));
        if (!p)
            return -1;
        w->adhoc = p;
        w->adhoc[w->adhoc_count++] = (struct adhoc){0};
        size_rt_of(w);
    }
    struct adhoc *a = &w->adhoc[k];
    char id[32];
    snprintf(id, sizeof id, "adhoc-%08x", fnv1a(url));
    a->cfg = (struct vw_source_cfg){
        .id = strdup(id),
        .name = name ? strdup(name) : name_from_url(url),
        .url = strdup(url),
        .stall_timeout = 3,
        .linger = ADHOC_LINGER_S,
        .hwaccel = w->cfg->hwaccel,
        .substream_ratio = w->cfg->substream_ratio,
    };
    if (!a->cfg.id || !a->cfg.name || !a->cfg.url)
        abort();
    a->used = true;
    vw_info("ad-hoc camera '%s' (%s) added", a->cfg.id, a->cfg.name);
    return w->cfg->source_count + k;
}

static void adhoc_free(struct adhoc *a)
{
    free(a->cfg.id);
    free(a->cfg.name);
    free(a->cfg.url);
    memset(a, 0, sizeof *a);
}

/* Whether the state still names ad-hoc source `id` (a pick or a saved tile). */
static bool state_names(const struct vw_state *st, const char *id)
{
    for (int i = 0; i < st->picks_count; i++)
        for (int k = 0; k < st->picks[i].count; k++)
            if (strcmp(st->picks[i].picks[k].source, id) == 0)
                return true;
    for (int i = 0; i < st->saved_count; i++)
        for (int k = 0; k < st->saved[i].tile_count; k++)
            if (st->saved[i].tiles[k].source && strcmp(st->saved[i].tiles[k].source, id) == 0)
                return true;
    return false;
}

void vw_wall_forget_unnamed_adhoc(struct vw_wall *w)
{
    const struct vw_state *st = vw_store_state(w->store);
    for (int k = 0; k < w->adhoc_count; k++) {
        struct adhoc *a = &w->adhoc[k];
        if (a->used && !vw_wall_rt(w, w->cfg->source_count + k) && !state_names(st, a->cfg.id)) {
            vw_info("ad-hoc camera '%s' (%s) removed: nothing names it now", a->cfg.id,
                    a->cfg.name);
            adhoc_free(a);
        }
    }
}

/* ---- runtimes -------------------------------------------------------------------------- */

static struct source_rt *ensure_rt(struct vw_wall *w, int i)
{
    if (w->rt_of[i])
        return w->rt_of[i];
    struct source_rt *rt = calloc(1, sizeof *rt);
    if (!rt)
        abort();
    rt->index = i;
    if (w->active_count == w->active_cap) {
        w->active_cap = w->active_cap ? w->active_cap * 2 : 32;
        w->active = realloc(w->active, sizeof *w->active * (size_t)w->active_cap);
        w->fresh_at = realloc(w->fresh_at, sizeof *w->fresh_at * (size_t)w->active_cap);
        if (!w->active || !w->fresh_at)
            abort();
    }
    w->active[w->active_count++] = rt;
    w->rt_of[i] = rt;
    return rt;
}

/* Frames a source decoded while a tile showed it but that were replaced before the renderer
 * took them: decoded − shown − decoded while hidden − `pending` (a newest frame not yet
 * taken). */
static uint64_t frames_dropped(const struct vw_source_stats *st, uint64_t hidden, uint64_t pending)
{
    uint64_t seen = st->frames_shown + hidden + pending;
    return st->frames_decoded > seen ? st->frames_decoded - seen : 0;
}

uint64_t vw_wall_frames_dropped(const struct vw_wall *w)
{
    uint64_t dropped = w->dropped_retired;
    for (int i = 0; i < w->active_count; i++) {
        struct source_rt *rt = w->active[i];
        if (!rt->src)
            continue;
        struct vw_source_stats st;
        vw_source_get_stats(rt->src, &st);
        dropped += frames_dropped(&st, rt->hidden, 1); /* the newest may be pending */
    }
    return dropped;
}

static void stop_decoder(struct vw_wall *w, struct source_rt *rt)
{
    if (rt->src) {
        struct vw_source_stats st;
        vw_source_get_stats(rt->src, &st);
        w->dropped_retired += frames_dropped(&st, rt->hidden, 0);
        vw_source_destroy(rt->src);
        rt->src = NULL;
    }
    vw_texture_destroy(rt->tex);
    rt->tex = NULL;
    rt->has_picture = false;
}

/* Stops the runtime at position k of the active list and frees it. */
static void drop_rt(struct vw_wall *w, int k)
{
    struct source_rt *rt = w->active[k];
    stop_decoder(w, rt);
    int i = rt->index;
    w->rt_of[i] = NULL;
    w->active[k] = w->active[--w->active_count];
    free(rt);
    if (vw_wall_source_is_adhoc(w, i)) {
        struct adhoc *a = &w->adhoc[i - w->cfg->source_count];
        if (a->used && !state_names(vw_store_state(w->store), a->cfg.id)) {
            vw_info("ad-hoc camera '%s' (%s) removed: no tile shows it", a->cfg.id, a->cfg.name);
            adhoc_free(a);
        }
    }
}

void vw_wall_source_stats(const struct vw_wall *w, int i, struct vw_source_stats *st)
{
    struct source_rt *rt = vw_wall_rt(w, i);
    if (rt && rt->src) {
        vw_source_get_stats(rt->src, st);
        return;
    }
    memset(st, 0, sizeof *st);
    st->state = VW_SOURCE_IDLE;
    st->last_frame_age_ms = -1;
}

/* ---- load ------------------------------------------------------------------------------ */

/* Once a second: when any decoder fell behind its stream (late frames, or it skipped to a
 * keyframe to catch up), the wall is overloaded for the next OVERLOAD_HOLD_S seconds; so is
 * it while drawing takes most of every second, or redraws leave new frames waiting for their
 * turn. After OVERLOAD_SUSTAINED_S of it, small tiles move to their substreams. */
#define OVERLOAD_HOLD_S 10.0
#define OVERLOAD_SUSTAINED_S 5.0
/* Substreams taken for overload stay this long after it: back on the main streams, the load
 * that caused it would come back. */
#define SUBSTREAM_HOLD_S 60.0
#define OVERLOAD_LATE_FRAMES 3 /* late frames in one second from one source */
#define OVERLOAD_RENDER_LOAD 0.85

static void check_load(struct vw_wall *w, double now)
{
    if (now < w->next_load_check)
        return;
    w->next_load_check = now + 1.0;
    for (int k = 0; k < w->active_count; k++) {
        struct source_rt *rt = w->active[k];
        if (!rt->src)
            continue;
        const struct vw_source_stats st = rt->st;
        uint64_t late = st.frames_late - (st.frames_late >= rt->late_seen ? rt->late_seen : 0);
        uint64_t catchups =
            st.catchups - (st.catchups >= rt->catchups_seen ? rt->catchups_seen : 0);
        rt->late_seen = st.frames_late;
        rt->catchups_seen = st.catchups;
        if (late >= OVERLOAD_LATE_FRAMES || catchups > 0) {
            if (w->overload_until < now)
                vw_warn("source '%s' fell behind its stream (%llu late frames, %llu skips to a "
                        "keyframe in 1 s): shedding load in the smallest tiles",
                        vw_wall_source_cfg(w, rt->index)->id, (unsigned long long)late,
                        (unsigned long long)catchups);
            w->overload_until = now + OVERLOAD_HOLD_S;
            w->overload_reason = "decoders fall behind their streams";
        }
    }
    if (w->take_deferred) {
        if (w->overload_until < now)
            vw_warn("redraws cannot take every new frame: tiles take turns");
        w->overload_until = now + OVERLOAD_HOLD_S;
        w->overload_reason = "drawing cannot keep up with the decoders";
        w->take_deferred = false;
    }
    w->render_load = w->render_busy_s;
    w->render_busy_s = 0;
    if (w->render_load > OVERLOAD_RENDER_LOAD) {
        if (w->overload_until < now)
            vw_warn("drawing took %.0f %% of the last second: the wall cannot show every frame",
                    w->render_load * 100);
        w->overload_until = now + OVERLOAD_HOLD_S;
        w->overload_reason = "drawing takes most of every second";
    }
    bool over = w->overload_until > now;
    if (over != w->overloaded_reported) {
        w->overloaded_reported = over;
        if (over)
            w->overload_since = now;
        if (!over)
            vw_info("the wall keeps up again");
        cJSON *ev = vw_wall_new_event(w, "wall.overloaded");
        if (ev) {
            cJSON_AddBoolToObject(ev, "overloaded", over);
            if (over)
                cJSON_AddStringToObject(ev, "reason", w->overload_reason);
            else
                cJSON_AddNullToObject(ev, "reason");
            vw_wall_emit(w, ev);
        }
    }
}

static void source_state_event(struct vw_wall *w, struct source_rt *rt)
{
    const struct vw_source_stats *st = &rt->st;
    if (st->state == rt->last_state && strcmp(st->error, rt->last_error) == 0)
        return;
    rt->last_state = st->state;
    snprintf(rt->last_error, sizeof rt->last_error, "%s", st->error);
    w->dirty = true;
    cJSON *ev = vw_wall_new_event(w, "source.state");
    if (ev) {
        const struct vw_source_cfg *c = vw_wall_source_cfg(w, rt->index);
        cJSON_AddStringToObject(ev, "source", c->id);
        cJSON_AddStringToObject(ev, "state", vw_source_state_name(st->state));
        if (st->error[0])
            cJSON_AddStringToObject(ev, "error", st->error);
        else
            cJSON_AddNullToObject(ev, "error");
        if (c->group)
            cJSON_AddStringToObject(ev, "group", c->group);
        vw_wall_emit(w, ev);
    }
}

/* How many of the panels a tile at `r` covers this process renders (*on) and does not
 * (*off): --screens and --node render some panels. */
static void rect_cover(const struct vw_wall *w, struct vw_rect r, int *on, int *off)
{
    int cols = w->cfg->columns, rows = w->cfg->rows;
    *on = 1;
    *off = 0;
    if (vw_outputs_panels_on(w->outputs) == cols * rows)
        return; /* the whole wall: every tile is on it */
    int c0 = (int)fmax(0, floor(r.x)), c1 = (int)fmin(cols - 1, ceil(r.x + r.w) - 1);
    int r0 = (int)fmax(0, floor(r.y)), r1 = (int)fmin(rows - 1, ceil(r.y + r.h) - 1);
    *on = 0;
    for (int row = r0; row <= r1; row++)
        for (int col = c0; col <= c1; col++)
            if (vw_outputs_panel_on(w->outputs, col, row))
                ++*on;
            else
                ++*off;
}

/* Whether a tile at `r` covers a panel this process renders. A wall rendering only some
 * panels opens only the sources it shows (issue 13: decode only what you show). */
static bool rect_rendered(const struct vw_wall *w, struct vw_rect r)
{
    int on, off;
    rect_cover(w, r, &on, &off);
    return on > 0;
}

/* A cluster node, while a committed value waits for its moment (lead_ms), starts the sources
 * its scene will need on this node's panels, so that the switch finds them decoding and every
 * node draws it in the same redraw; files spanning nodes get that scene's start as epoch. */
static void start_upcoming(struct vw_wall *w)
{
    const struct vw_store_value *next = w->cluster ? vw_store_peek(w->store) : NULL;
    if (!next)
        return;
    const char *id = vw_state_showing(&next->state, next->at_ms);
    int k = vw_wall_find_scene(w, id);
    if (k < 0 || k >= w->cfg->scene_count) /* saved scenes: started when they show */
        return;
    const struct vw_scene_cfg *sc = &w->cfg->scenes[k];
    for (int t = 0; t < sc->tile_count; t++) {
        int on, off;
        rect_cover(w, sc->tiles[t].rect, &on, &off);
        if (!on)
            continue;
        const struct vw_state_pick *p = vw_state_pick(&next->state, sc->id, t);
        int src = p ? (p->url ? -1 : vw_wall_find_source(w, p->source)) : sc->tiles[t].source;
        if (src < 0)
            continue; /* an ad-hoc camera: made when it shows */
        struct source_rt *rt = ensure_rt(w, src);
        rt->upcoming = true;
        rt->spans |= off > 0;
        rt->upcoming_since_ms = vw_state_since(&next->state, next->at_ms);
    }
}

/* Starts the sources the scene showing needs and warm ones; stops those whose linger passed.
 * Under overload, every decoder yields the CPU to the render loop, sources whose largest tile is
 * the scene's smallest size skip non-reference frames, so frames are dropped where they cost least;
 * after OVERLOAD_SUSTAINED_S of it, every tile but the scene's biggest ones takes its substream
 * whenever the main stream would be shrunk at all, until SUBSTREAM_HOLD_S after the overload. Costs
 * O(tiles + running sources). */
static void manage_sources(struct vw_wall *w, double now)
{
    for (int k = 0; k < w->active_count; k++) {
        w->active[k]->in_scene = false;
        w->active[k]->spans = false;
        w->active[k]->upcoming = false;
        w->active[k]->max_area = 0;
    }
    const struct vw_scene_cfg *sc = vw_wall_shown(w);
    double smallest = INFINITY, largest = 0;
    for (int t = 0; t < sc->tile_count; t++) {
        int on, off;
        rect_cover(w, sc->tiles[t].rect, &on, &off);
        if (!on)
            continue;
        struct source_rt *rt = ensure_rt(w, vw_wall_tile_source(w, t));
        rt->spans |= off > 0 && w->cfg->cluster.enabled; /* other nodes show the rest */
        struct vw_box b = vw_geom_tile_box(&w->geom, sc->tiles[t].rect);
        double area = (b.x1 - b.x0) * (b.y1 - b.y0);
        rt->in_scene = true;
        if (area > rt->max_area)
            rt->max_area = area;
    }
    for (int i = 0; i < w->warm_count; i++)
        ensure_rt(w, w->warm[i]);
    start_upcoming(w);
    for (int k = 0; k < w->active_count; k++)
        if (w->active[k]->in_scene) {
            smallest = fmin(smallest, w->active[k]->max_area);
            largest = fmax(largest, w->active[k]->max_area);
        }
    bool overloaded = w->overload_until > now;
    if (overloaded && now - w->overload_since >= OVERLOAD_SUSTAINED_S)
        w->substreams_until = now + SUBSTREAM_HOLD_S;
    bool sustained = now < w->substreams_until;
    bool one_size = smallest >= largest * 0.99;
    for (int k = 0; k < w->active_count; k++) {
        struct source_rt *rt = w->active[k];
        const struct vw_source_cfg *c = vw_wall_source_cfg(w, rt->index);
        bool wanted =
            rt->in_scene || rt->upcoming || (!vw_wall_source_is_adhoc(w, rt->index) && c->warm);
        if (rt->src && overloaded)
            vw_source_yield(rt->src); /* the render loop first */
        if (w->opt.no_connect) {
            if (!wanted) {
                drop_rt(w, k--);
            }
            continue;
        }
        if (wanted) {
            rt->left_at = 0;
            /* The substream when the main stream would be shrunk by substream_ratio or more
             * in the largest tile showing it (under sustained overload: at all, but in the
             * scene's biggest tiles). */
            double main_area = rt->main_area > 0 ? rt->main_area : MAIN_STREAM_AREA_GUESS;
            bool small = one_size || rt->max_area < largest * 0.99;
            double ratio = sustained && small ? 1.0 : c->substream_ratio;
            bool want_sub = c->substream && rt->in_scene && main_area >= ratio * rt->max_area;
            if (!rt->src) {
                rt->src = vw_source_create(c, want_sub, wakeup, &w->wake_fd);
                rt->tex = vw_texture_create(w->renderer);
                rt->substream = want_sub;
                rt->last_state = VW_SOURCE_IDLE;
                rt->last_error[0] = '\0';
                rt->playout_ms = 0;
                rt->epoch_us = 0;
                if (!rt->src)
                    vw_err("source '%s': cannot start its thread", c->id);
            }
            /* A tile spanning nodes shows each frame at its capture time + playout_ms on
             * every node; elsewhere frames show as soon as decoded. */
            int playout = rt->spans ? w->cfg->cluster.playout_ms : 0; /* in_scene or upcoming */
            if (rt->src && playout != rt->playout_ms) {
                rt->playout_ms = playout;
                vw_source_set_playout(rt->src, playout);
            }
            /* Files have no sender clock: the nodes count their time from when the scene
             * started showing, a moment the shared state gives them all. */
            int64_t since = rt->in_scene
                                ? vw_state_since(vw_store_state(w->store), vw_realtime_ms())
                                : rt->upcoming_since_ms;
            int64_t epoch = playout ? since * 1000 : 0;
            if (rt->src && epoch != rt->epoch_us) {
                /* A file already playing starts again from its beginning with the new epoch,
                 * as it does on the nodes that open it now. */
                bool replay = rt->epoch_us != 0 && epoch != 0 && vw_source_is_file(rt->src);
                rt->epoch_us = epoch;
                vw_source_set_epoch(rt->src, epoch);
                if (replay)
                    vw_source_reconnect(rt->src);
            }
            if (rt->src && c->substream && want_sub != rt->substream) {
                rt->substream = want_sub;
                vw_source_prefer_substream(rt->src, want_sub);
            }
            bool skip = overloaded && (!rt->in_scene || rt->max_area <= smallest * 1.01);
            if (rt->src && skip != rt->skip_nonref) {
                rt->skip_nonref = skip;
                vw_source_set_skip_nonref(rt->src, skip);
            }
        } else if (!rt->src) {
            drop_rt(w, k--);
        } else if (rt->left_at == 0) {
            rt->left_at = now;
        } else if (now - rt->left_at >= c->linger) {
            vw_info("source '%s': not shown for %.0f s, stopping", c->id, c->linger);
            drop_rt(w, k--);
        }
    }
}

bool vw_wall_reconnect(struct vw_wall *w, const char *source, const char *by,
                       struct vw_wall_error *e)
{
    int i = vw_wall_find_source(w, source);
    if (i < 0) {
        e->code = "unknown_source";
        snprintf(e->message, sizeof e->message, "no source '%.80s' in the wall file", source);
        return false;
    }
    struct source_rt *rt = vw_wall_rt(w, i);
    if (!rt || !rt->src) {
        vw_info("source '%s': reconnect asked (by %s); it is not decoding now", source, by);
        return true; /* it connects afresh whenever it is shown */
    }
    vw_info("source '%s': reconnecting now (by %s)", source, by);
    vw_source_reconnect(rt->src); /* make-before-break: the last picture stays meanwhile */
    return true;
}

/* ---- drawing --------------------------------------------------------------------------- */

static void format_age(char *buf, size_t n, const char *what, double age_s)
{
    if (age_s < 120)
        snprintf(buf, n, "%s %.0f s", what, floor(age_s));
    else if (age_s < 7200)
        snprintf(buf, n, "%s %.0f min", what, floor(age_s / 60));
    else
        snprintf(buf, n, "%s %.0f h", what, floor(age_s / 3600));
}

/* Fills w->draw for the scene showing. Returns true when a tile shows a growing age (the
 * wall must redraw once a second to keep it honest). */
static bool build_draw_list(struct vw_wall *w, int64_t now_us)
{
    const struct vw_scene_cfg *sc = vw_wall_shown(w);
    bool ticking = false;
    if (sc->tile_count > w->draw_cap) {
        w->draw_cap = sc->tile_count;
        w->draw = realloc(w->draw, sizeof *w->draw * (size_t)w->draw_cap);
        w->texts = realloc(w->texts, sizeof *w->texts * (size_t)w->draw_cap);
        w->changed = realloc(w->changed, sizeof *w->changed * (size_t)w->draw_cap);
        w->drawn = realloc(w->drawn, sizeof *w->drawn * (size_t)w->draw_cap);
        if (!w->draw || !w->texts || !w->changed || !w->drawn)
            abort();
    }
    for (int t = 0; t < sc->tile_count; t++) {
        const struct vw_tile_cfg *tc = &sc->tiles[t];
        int s = vw_wall_tile_source(w, t);
        const struct vw_source_cfg *scfg = vw_wall_source_cfg(w, s);
        struct source_rt *rt = vw_wall_rt(w, s);
        struct vw_source_stats st = {.state = VW_SOURCE_IDLE};
        if (rt)
            st = rt->st;
        char *detail = w->texts[t][0], *badge = w->texts[t][1];
        struct vw_draw_tile *d = &w->draw[t];
        *d = (struct vw_draw_tile){
            .box = vw_geom_tile_box(&w->geom, tc->rect),
            .fit = tc->fit,
            .label = tc->label ? scfg->name : NULL,
            .slate_title = scfg->name,
            .slate_detail = detail,
            .badge = VW_BADGE_NONE,
        };
        bool has = rt && rt->has_picture;
        double age = has ? (double)(now_us - rt->picture_at_us) / 1e6 : 0;
        bool picture = has && age < KEEP_LAST_FRAME_S;
        d->tex = picture ? rt->tex : NULL;
        if (picture && st.state == VW_SOURCE_STALLED) {
            d->badge = VW_BADGE_STALLED;
            format_age(badge, 160, "STALLED", age);
            d->badge_text = badge;
            ticking = true;
        } else if (picture && st.state != VW_SOURCE_LIVE) {
            d->badge = VW_BADGE_RECONNECTING;
            format_age(badge, 160, st.state == VW_SOURCE_OFFLINE ? "OFFLINE" : "RECONNECTING", age);
            d->badge_text = badge;
            ticking = true;
        }
        const char *problem = rt && rt->tex ? vw_texture_problem(rt->tex) : NULL;
        if (w->mismatch_reported) {
            /* This node's wall file is not the others': its tiles may not be where the rest
             * of the wall puts them, so it shows no picture rather than a wrong layout. */
            d->tex = NULL;
            d->badge = VW_BADGE_NONE;
            snprintf(detail, 160, "WALL FILE DIFFERS FROM THE OTHER NODES' · see the log");
        } else if (w->opt.no_connect)
            snprintf(detail, 160, "PREVIEW · source not opened");
        else if (problem && !picture)
            snprintf(detail, 160, "CANNOT SHOW · %.140s", problem);
        else if (st.error[0])
            snprintf(detail, 160, "NO SIGNAL · %s: %.100s", vw_source_state_name(st.state),
                     st.error);
        else
            snprintf(detail, 160, "NO SIGNAL · %s", vw_source_state_name(st.state));
    }
    return ticking;
}

/* Draws the panels of `block` into the bound framebuffer of fb_w×fb_h, the block scaled to
 * fit and centred: every tile after clearing (`clear`), or only `tiles` over what the
 * framebuffer holds. `all_panels`: every panel, whatever --screens renders. */
static void draw_block(struct vw_wall *w, struct vw_output_block o, int fb_w, int fb_h,
                       const struct vw_draw_tile *tiles, int n, bool clear, bool all_panels)
{
    const struct vw_geom *g = &w->geom;
    double bw = (double)o.cols * g->W, bh = (double)o.rows * g->H;
    double s = fmin(fb_w / bw, fb_h / bh);
    double ox = (fb_w - bw * s) / 2, oy = (fb_h - bh * s) / 2;
    if (clear)
        vw_renderer_begin(w->renderer, fb_w, fb_h);
    else
        vw_renderer_begin_over(w->renderer, fb_w, fb_h);
    for (int r = o.panel_y; r < o.panel_y + o.rows; r++) {
        for (int c = o.panel_x; c < o.panel_x + o.cols; c++) {
            if (r >= g->rows || c >= g->cols ||
                (!all_panels && !vw_outputs_panel_on(w->outputs, c, r)))
                continue;
            /* Integer pixel edges: neighbours share them, so no seam and no overlap. */
            int x0 = (int)lround(ox + (c - o.panel_x) * g->W * s);
            int x1 = (int)lround(ox + (c - o.panel_x + 1) * g->W * s);
            int y0 = (int)lround(oy + (r - o.panel_y) * g->H * s);
            int y1 = (int)lround(oy + (r - o.panel_y + 1) * g->H * s);
            struct vw_panel_view pv = {
                .virt = vw_geom_panel_box(g, c, r), .x = x0, .y = y0, .w = x1 - x0, .h = y1 - y0};
            vw_renderer_draw_panel(w->renderer, &pv, tiles, n);
        }
    }
    vw_renderer_end(w->renderer);
}

/* Collects into w->changed the tiles that look different from the last redraw (a new frame,
 * a badge or slate text that changed; every tile when `full`) and remembers what they show
 * now. */
static int collect_changed(struct vw_wall *w, bool full)
{
    int n = 0;
    for (int t = 0; t < vw_wall_shown(w)->tile_count; t++) {
        const struct vw_draw_tile *d = &w->draw[t];
        struct source_rt *rt = vw_wall_rt(w, vw_wall_tile_source(w, t));
        struct drawn now = {.serial = d->tex && rt ? rt->serial : 0};
        snprintf(now.badge, sizeof now.badge, "%s", d->badge != VW_BADGE_NONE ? d->badge_text : "");
        snprintf(now.detail, sizeof now.detail, "%s", d->tex ? "" : d->slate_detail);
        struct drawn *was = &w->drawn[t];
        if (full || was->serial != now.serial || strcmp(was->badge, now.badge) != 0 ||
            strcmp(was->detail, now.detail) != 0) {
            *was = now;
            w->changed[n++] = *d;
        }
    }
    return n;
}

/* Takes the newest frame of the sources tiles show and uploads the new ones, at most
 * `budget` of them, in turn: the next call starts after the last source it took, so when
 * redraws cannot take every new frame each tile still gets its share, and a frame waits at
 * most one round. Sources decoding unseen (warm, lingering) are left alone: their mailbox
 * keeps the newest frame for the moment a tile shows them again. */
static int take_frames(struct vw_wall *w, int budget, bool *deferred)
{
    *deferred = false;
    int n_fresh = 0;
    for (int k = 0; k < w->active_count; k++) {
        struct source_rt *rt = w->active[k];
        if (!rt->src)
            continue;
        uint64_t decoded = rt->st.frames_decoded;
        uint64_t since = decoded - rt->decoded_seen;
        rt->decoded_seen = decoded;
        if (!rt->in_scene)
            rt->hidden += since;
    }
    /* The moment this redraw shows: a cluster node draws on a grid of realtime instants, and
     * takes a held frame (a tile spanning nodes) only when it is due by then, as every node
     * does in the same redraw. */
    int64_t slot_rt = 0;
    if (w->cluster) {
        int64_t interval = (int64_t)(1e6 / (w->opt.max_fps > 0 ? w->opt.max_fps : 60));
        slot_rt = vw_realtime_us() / interval * interval; /* this redraw's grid instant */
    }
    int n = w->active_count;
    for (int j = 0; j < n; j++) {
        int k = (w->take_next + j) % n;
        struct source_rt *rt = w->active[k];
        if (!rt->src || !rt->in_scene)
            continue;
        if (n_fresh == budget) {
            w->take_next = k; /* the next redraw starts with this one */
            *deferred = w->take_deferred = true;
            return n_fresh;
        }
        bool fresh = false;
        int64_t decoded_at = 0;
        AVFrame *f = vw_source_frame(rt->src, &fresh, &decoded_at, slot_rt);
        if (!fresh && slot_rt && vw_source_waiting_due(rt->src) > slot_rt)
            w->frame_waiting = true; /* a held frame: the redraw of its moment takes it */
        if (f && fresh) {
            int64_t captured = f->reordered_opaque; /* set by the source; moved out below */
            /* the wall needs the frame no more: the texture may keep its buffers */
            if (vw_texture_upload_take(rt->tex, f)) {
                rt->capture_us = captured > 0 ? captured : 0;
                w->frames_uploaded++;
                rt->serial++;
                rt->has_picture = true;
                rt->picture_at_us = decoded_at;
                w->fresh_at[n_fresh++] = decoded_at;
            }
        }
    }
    return n_fresh;
}

/* Adapts the redraw's take budget to how long the last redraw took: one that took longer
 * than RENDER_PASS_TARGET_US takes proportionally fewer new frames next time (the wall keeps
 * answering, and every tile's frame comes within a few rounds); quick ones let it grow back. */
static void adapt_take_budget(struct vw_wall *w, int n_fresh, int64_t pass_us)
{
    if (pass_us > RENDER_PASS_TARGET_US && n_fresh > 0) {
        int b = (int)((int64_t)n_fresh * RENDER_PASS_TARGET_US / pass_us);
        w->take_budget = b < TAKE_BUDGET_MIN ? TAKE_BUDGET_MIN : b;
    } else if (pass_us < RENDER_PASS_TARGET_US * 3 / 4 && n_fresh >= w->take_budget) {
        w->take_budget += w->take_budget / 4 + 1;
        if (w->take_budget > TAKE_BUDGET_MAX)
            w->take_budget = TAKE_BUDGET_MAX;
    }
}

/* One --frame-log line per tile this wall shows, for the redraw just presented. */
static void log_frames(struct vw_wall *w)
{
    int64_t present_us = vw_frame_log_now_us();
    const struct vw_scene_cfg *sc = vw_wall_shown(w);
    for (int t = 0; t < sc->tile_count; t++) {
        if (!rect_rendered(w, sc->tiles[t].rect))
            continue;
        int src = vw_wall_tile_source(w, t);
        const struct source_rt *rt = vw_wall_rt(w, src);
        int64_t captured = rt && rt->has_picture && rt->capture_us > 0 ? rt->capture_us : -1;
        vw_frame_log_add(w->frame_log, present_us, t, vw_wall_source_cfg(w, src)->id, captured);
    }
}

static void render(struct vw_wall *w)
{
    int64_t now = vw_now_us();
    bool deferred;
    int n_fresh = take_frames(w, w->take_budget, &deferred);
    bool ticking = build_draw_list(w, now);
    /* Only the tiles that changed are drawn, over the last composition, unless tiles overlap
     * (then a tile's redraw would cover its neighbour). Each output composes into its own
     * target, which a window then copies to the screen. */
    bool full = w->full_redraw || w->tiles_overlap;
    int n_changed = collect_changed(w, full);
    w->full_redraw = false;

    bool drew = false;
    for (int i = 0; i < vw_outputs_count(w->outputs); i++) {
        struct vw_output_block b = vw_outputs_block(w->outputs, i);
        int fw = b.cols * w->geom.W, fh = b.rows * w->geom.H;
        bool out_full = full;
        if (!vw_outputs_begin(w->outputs, i, w->renderer, &fw, &fh, &out_full))
            continue;
        if (!out_full && n_changed == 0) {
            vw_target_bind(NULL);
            continue;
        }
        drew = true;
        if (out_full)
            draw_block(w, b, fw, fh, w->draw, vw_wall_shown(w)->tile_count, true, false);
        else
            draw_block(w, b, fw, fh, w->changed, n_changed, false, false);
        vw_outputs_present(w->outputs, i, w->renderer);
    }
    int64_t presented = vw_now_us();
    if (drew && w->frame_log)
        log_frames(w);
    w->render_busy_s += (double)(presented - now) / 1e6;
    adapt_take_budget(w, n_fresh, presented - now);
    for (int i = 0; i < n_fresh; i++) {
        w->latency_us[w->latency_next] = presented - w->fresh_at[i];
        w->latency_next = (w->latency_next + 1) % LATENCY_SAMPLES;
        if (w->latency_count < LATENCY_SAMPLES)
            w->latency_count++;
    }
    if (drew) { /* a pass with nothing new to draw is not a frame */
        w->frames_rendered++;
        w->fps_frames++;
    }
    if (presented - w->fps_since_us >= 1000000) {
        w->render_fps = (double)w->fps_frames * 1e6 / (double)(presented - w->fps_since_us);
        w->fps_frames = 0;
        w->fps_since_us = presented;
    }
    if (w->switch_started_us && vw_wall_all_tiles_have_pictures(w)) {
        w->last_switch_ms = (int)((presented - w->switch_started_us) / 1000);
        vw_info("scene '%s': every tile has a picture, %d ms after the switch",
                vw_wall_shown(w)->id, w->last_switch_ms);
        w->switch_started_us = 0;
    }
    w->dirty = ticking || deferred || w->frame_waiting; /* an age on screen must keep counting */
    w->frame_waiting = false;
    int64_t interval = (int64_t)(1e6 / (w->opt.max_fps > 0 ? w->opt.max_fps : 60));
    w->next_render_us = now + (ticking && n_fresh == 0 ? 1000000 - (now % 1000000) : interval);
    if (w->cluster && !(ticking && n_fresh == 0)) {
        /* The nodes of a cluster draw on one grid of realtime instants (their clocks are in
         * step), so a frame that every node holds until the same moment is drawn by all of
         * them in the same redraw, not one interval apart. */
        int64_t rt = vw_realtime_us();
        w->next_render_us = now + (rt / interval + 1) * interval - rt;
    }
}

/* ---- life cycle ------------------------------------------------------------------------ */

/* The wall file's warm sources, found once per model: on a wall rendering only some panels,
 * those with a tile on them in some scene (the others are warm on the walls that show
 * them). */
static void collect_warm(struct vw_wall *w)
{
    const struct vw_config *cfg = w->cfg;
    free(w->warm);
    w->warm = malloc(sizeof *w->warm * (size_t)(cfg->source_count ? cfg->source_count : 1));
    if (!w->warm)
        abort();
    bool all = vw_outputs_panels_on(w->outputs) == cfg->columns * cfg->rows;
    bool *here = all ? NULL : calloc((size_t)(cfg->source_count ? cfg->source_count : 1), 1);
    if (!all && !here)
        abort();
    for (int s = 0; here && s < cfg->scene_count; s++)
        for (int t = 0; t < cfg->scenes[s].tile_count; t++)
            if (rect_rendered(w, cfg->scenes[s].tiles[t].rect))
                here[cfg->scenes[s].tiles[t].source] = true;
    w->warm_count = 0;
    for (int i = 0; i < cfg->source_count; i++)
        if (cfg->sources[i].warm && (all || here[i]))
            w->warm[w->warm_count++] = i;
    free(here);
}

void vw_wall_default_state_file(const struct vw_config *cfg, char *buf, size_t cap)
{
    char dir[4096];
    const char *sd = getenv("STATE_DIRECTORY"), *xdg = getenv("XDG_STATE_HOME"),
               *home = getenv("HOME");
    if (cfg->state_dir)
        snprintf(dir, sizeof dir, "%s", cfg->state_dir);
    else if (sd && *sd)
        snprintf(dir, sizeof dir, "%.*s", (int)strcspn(sd, ":"), sd); /* the first of a list */
    else if (xdg && *xdg)
        snprintf(dir, sizeof dir, "%s/vwall", xdg);
    else if (home && *home && getuid() != 0)
        snprintf(dir, sizeof dir, "%s/.local/state/vwall", home);
    else
        snprintf(dir, sizeof dir, "/var/lib/vwall");
    const char *base = strrchr(cfg->path, '/');
    base = base ? base + 1 : cfg->path;
    size_t n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".cfg") == 0)
        n -= 4;
    snprintf(buf, cap, "%s/%.*s.state.json", dir, (int)n, base);
}

/* Tile count of a scene id for vw_state_retain: the wall file's, or a saved one's. */
static int scene_tiles(void *ud, const char *scene)
{
    struct vw_wall *w = ud;
    int k = vw_config_find_scene(w->cfg, scene);
    if (k >= 0)
        return w->cfg->scenes[k].tile_count;
    const struct vw_state_saved *s = vw_state_find_saved(vw_store_state(w->store), scene);
    return s ? s->tile_count : -1;
}

static bool source_known(void *ud, const char *source)
{
    struct vw_wall *w = ud;
    return vw_config_find_source(w->cfg, source) >= 0;
}

/* A node of a cluster: the state is the cluster's (no state file); it arrives from NATS. */
static bool open_shared_store(struct vw_wall *w, struct vw_errors *errs)
{
    const char *base = w->cfg->scenes[w->cfg->default_scene].id;
    w->cluster = vw_cluster_create(w->cfg, w->opt.node, base, w->wake_fd, errs);
    if (!w->cluster)
        return false;
    struct vw_store_backend b = vw_cluster_backend(w->cluster);
    w->store = vw_store_create_shared(&b, base);
    if (w->opt.scene)
        vw_warn("--scene %s: ignored on a cluster node; the wall shows the cluster's scene",
                w->opt.scene);
    vw_info("cluster: node %s of '%s' renders panels %s", w->opt.node, w->cfg->cluster.name,
            w->opt.screens ? w->opt.screens : "(all)");
    return true;
}

static bool open_store(struct vw_wall *w, struct vw_errors *errs)
{
    if (w->opt.node)
        return open_shared_store(w, errs);
    char path[4200];
    const char *file = w->opt.state_file;
    if (!file) {
        vw_wall_default_state_file(w->cfg, path, sizeof path);
        file = path;
    }
    const char *base = w->cfg->scenes[w->cfg->default_scene].id;
    w->store = vw_store_create_local(file[0] ? file : NULL, w->cfg->path, w->cfg->hash, base);
    char why[600];
    switch (vw_store_restore(w->store, vw_realtime_ms(), why, sizeof why)) {
    case VW_RESTORE_NONE: break;
    case VW_RESTORE_ALL: vw_info("state: %s", why); break;
    case VW_RESTORE_SAVED_ONLY:
    case VW_RESTORE_IGNORED: vw_warn("state: %s", why); break;
    }
    if (vw_store_retain(w->store, w->cfg->hash, scene_tiles, source_known, w, base))
        vw_warn("state: scenes, tiles or sources the wall file no longer has were dropped");
    if (w->opt.scene) {
        if (vw_config_find_scene(w->cfg, w->opt.scene) < 0) {
            vw_errors_add(errs, "--scene %s: no such scene in %s", w->opt.scene, w->cfg->path);
            return false;
        }
        struct vw_transition t = {
            .kind = VW_T_SWITCH, .now_ms = vw_realtime_ms(), .by = "start", .scene = w->opt.scene};
        uint64_t ticket;
        vw_store_commit(w->store, &t, &ticket);
    }
    return true;
}

struct vw_wall *vw_wall_create(struct vw_config *cfg, const struct vw_wall_options *opt,
                               struct vw_errors *errs)
{
    struct vw_wall *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    w->cfg = cfg;
    w->opt = *opt;
    w->wake_fd = -1;
    w->last_switch_ms = -1;
    w->take_budget = TAKE_BUDGET_MAX;
    w->started_us = w->fps_since_us = vw_now_us();
    w->render_cpu_at_start = vw_wall_thread_cpu_s();
    w->events = cJSON_CreateArray();
    w->events_on = true;
    w->geom = vw_geom_from_config(cfg);
    size_rt_of(w);
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->wake_fd < 0) {
        vw_errors_add(errs, "eventfd: %s", strerror(errno));
        goto fail;
    }
    if (!open_store(w, errs))
        goto fail;
    w->outputs = vw_outputs_create(cfg, opt->output, opt->screens, opt->vsync, errs);
    if (!w->outputs)
        goto fail;
    collect_warm(w); /* which warm sources this wall shows: it knows its panels now */
    if (opt->frame_log) {
        w->frame_log = vw_frame_log_open(opt->frame_log, opt->node, errs);
        if (!w->frame_log)
            goto fail;
    }

    const char *shader_dir = opt->shader_dir ? opt->shader_dir : getenv("VWALL_SHADER_DIR");
    struct vw_renderer_options ropt = {
        .shader_dir = shader_dir ? shader_dir : VWALL_SHADER_DIR,
        .font_path = cfg->font,
        .label_size = cfg->label_size,
        .compose = opt->compose,
    };
    w->renderer = vw_renderer_create(&ropt, errs);
    if (!w->renderer)
        goto fail;
    bool cpu = vw_renderer_compose(w->renderer) == VW_COMPOSE_CPU;
    vw_info("pictures scaled and converted by the %s",
            cpu ? "CPU (software GL; --compose gpu for shaders)" : "GPU (shaders)");
    vw_outputs_choose_presenter(w->outputs, cpu, opt->present_gl);
    vw_wall_resolve(w, "start", true);
    /* The first redraw (every tile a slate; Mesa compiles its shader variants on first use)
     * takes 100-150 ms on llvmpipe when it competes with the decoders starting up: their
     * first frames were replaced before the wall could take them. Drawn before the sources
     * start, it takes ~20 ms and the layout is on the wall at once. */
    render(w);
    manage_sources(w, vw_now_s());
    w->dirty = true;
    return w;
fail:
    vw_wall_destroy(w);
    return NULL;
}

static void finish_reload_thread(struct vw_wall *w);

void vw_wall_destroy(struct vw_wall *w)
{
    if (!w)
        return;
    if (w->reloading) { /* a reload nobody will see */
        finish_reload_thread(w);
        vw_config_destroy(w->reload_cfg);
        vw_errors_finish(&w->reload_errs);
    }
    for (int k = 0; k < w->active_count; k++) {
        vw_source_destroy(w->active[k]->src); /* sources first: they may still wake us */
        w->active[k]->src = NULL;
    }
    /* GL objects go while the context is current on a window that still exists. */
    if (w->outputs) {
        vw_outputs_make_current(w->outputs);
        for (int k = 0; k < w->active_count; k++)
            vw_texture_destroy(w->active[k]->tex);
        vw_outputs_release_targets(w->outputs);
        vw_renderer_destroy(w->renderer);
        vw_outputs_destroy(w->outputs);
    }
    for (int k = 0; k < w->active_count; k++)
        free(w->active[k]);
    if (w->wake_fd >= 0)
        close(w->wake_fd);
    vw_wall_free_saved_scenes(w);
    for (int i = 0; i < w->wait_count; i++)
        w->waits[i].cancel(w->waits[i].ud);
    free(w->waits);
    vw_store_destroy(w->store);     /* writes the newest state first */
    vw_cluster_destroy(w->cluster); /* after the store built on it */
    free(w->picture.pending);       /* an ask the cluster dropped unanswered */
    free(w->picture.rgba);
    for (int k = 0; k < w->adhoc_count; k++)
        adhoc_free(&w->adhoc[k]);
    free(w->adhoc);
    cJSON_Delete(w->events);
    cJSON_Delete(w->reload_nodes);
    free(w->active);
    free(w->rt_of);
    free(w->warm);
    vw_frame_log_close(w->frame_log);
    free(w->tile_src);
    free(w->draw);
    free(w->changed);
    free(w->drawn);
    free(w->texts);
    free(w->fresh_at);
    vw_config_destroy(w->cfg);
    free(w);
}

static void apply_reload(struct vw_wall *w);

/* A cluster node's share of a tick: adopt the value whose moment has come, answer the
 * commands whose proposals were committed, and send our heartbeat. */
static void cluster_turn(struct vw_wall *w)
{
    struct vw_state prev;
    while (vw_store_tick(w->store, vw_realtime_ms(), &prev)) { /* each revision, in order */
        vw_wall_adopted(w, &prev);
        vw_state_finish(&prev);
        w->next_render_us = 0; /* drawn now: `at` is the same moment on every node */
    }
    const char *hash = vw_store_hash(w->store);
    bool mine = vw_cluster_mismatch(w->cluster, hash);
    if (mine != w->mismatch_reported) {
        w->mismatch_reported = mine;
        w->dirty = w->full_redraw = true;
        if (mine)
            vw_err("cluster: this node's wall file (%s, hash %s) differs from the other nodes' "
                   "(the state was committed with %s): give every node the same file",
                   w->cfg->path, w->cfg->hash, hash[0] ? hash : "?");
        else
            vw_info("cluster: this node's wall file matches the cluster's again");
    }
    /* Every node tells its consoles of any node whose file differs, as it learns of it. */
    uint64_t mask = vw_cluster_mismatch_mask(w->cluster, hash);
    for (int k = 0; k < w->cfg->cluster.node_count && k < 64; k++) {
        bool now = mask >> k & 1, before = w->mismatch_mask >> k & 1;
        if (now == before)
            continue;
        cJSON *ev = vw_wall_new_event(w, "cluster.config_mismatch");
        if (ev) {
            cJSON_AddStringToObject(ev, "node", w->cfg->cluster.nodes[k].id);
            cJSON_AddBoolToObject(ev, "config_mismatch", now);
            cJSON_AddStringToObject(ev, "cluster_hash", hash);
            vw_wall_emit(w, ev);
        }
    }
    w->mismatch_mask = mask;
    struct vw_cluster_ask ask;
    while (vw_cluster_poll(w->cluster, &ask))
        vw_wall_answer_ask(w, &ask);
    struct vw_store_result r;
    while (vw_store_take_result(w->store, &r)) {
        for (int i = 0; i < w->wait_count; i++) {
            if (w->waits[i].ticket != r.ticket)
                continue;
            struct commit_wait cw = w->waits[i];
            w->waits[i] = w->waits[--w->wait_count];
            cw.done(cw.ud, r.error, r.error ? vw_wall_commit_message(r.error) : NULL, r.revision,
                    r.at_ms, r.showing, r.base);
            break;
        }
        free(r.showing);
        free(r.base);
    }
    if (!vw_cluster_beat_due(w->cluster))
        return;
    cJSON *beat = cJSON_CreateObject();
    cJSON_AddNumberToObject(beat, "render_fps", w->render_fps);
    cJSON_AddNumberToObject(beat, "frames_dropped", (double)vw_wall_frames_dropped(w));
    double p99 = vw_wall_latency_ms(w, 99);
    if (p99 >= 0)
        cJSON_AddNumberToObject(beat, "latency_p99_ms", p99);
    else
        cJSON_AddNullToObject(beat, "latency_p99_ms");
    cJSON_AddNumberToObject(beat, "revision", (double)vw_store_state(w->store)->revision);
    cJSON *decoding = cJSON_AddObjectToObject(beat, "sources"); /* what we decode, and how */
    for (int k = 0; k < w->active_count; k++) {
        const struct source_rt *rt = w->active[k];
        if (rt->src)
            cJSON_AddStringToObject(decoding, vw_wall_source_cfg(w, rt->index)->id,
                                    vw_source_state_name(rt->st.state));
    }
    vw_cluster_heartbeat(w->cluster, beat);
}

uint64_t vw_wall_take_ticket(struct vw_wall *w)
{
    uint64_t t = w->last_ticket;
    w->last_ticket = 0;
    return t;
}

void vw_wall_when_committed(struct vw_wall *w, uint64_t ticket, vw_commit_done_fn done,
                            void (*cancel)(void *ud), void *ud)
{
    if (w->wait_count == w->wait_cap) {
        w->wait_cap = w->wait_cap ? 2 * w->wait_cap : 16;
        w->waits = realloc(w->waits, (size_t)w->wait_cap * sizeof *w->waits);
        if (!w->waits)
            abort();
    }
    w->waits[w->wait_count++] =
        (struct commit_wait){.ticket = ticket, .done = done, .cancel = cancel, .ud = ud};
}

const char *vw_wall_node(const struct vw_wall *w)
{
    return w->cluster ? vw_cluster_node(w->cluster) : NULL;
}

bool vw_wall_tick(struct vw_wall *w)
{
    SDL_Event ev;
    while (SDL_PollEvent(&ev)) {
        if (ev.type == SDL_QUIT)
            w->quit = true;
        else if (ev.type == SDL_WINDOWEVENT)
            w->dirty = w->full_redraw = true;
        else if (ev.type == SDL_KEYDOWN &&
                 (ev.key.keysym.sym == SDLK_ESCAPE || ev.key.keysym.sym == SDLK_q))
            w->quit = true;
    }
    uint64_t count;
    if (read(w->wake_fd, &count, sizeof count) > 0)
        w->dirty = true;
    if (w->reloading && atomic_load(&w->reload_parsed)) {
        finish_reload_thread(w);
        apply_reload(w);
    }

    if (w->cluster)
        cluster_turn(w);
    double now = vw_now_s();
    if (vw_store_prune(w->store, vw_realtime_ms())) {
        vw_wall_resolve(w, "ttl", true);
        if (w->cluster)
            w->next_render_us = 0; /* an expiry, too, is the same moment on every node */
    }
    /* Each running source's stats, read once for this tick. */
    for (int k = 0; k < w->active_count; k++) {
        struct source_rt *rt = w->active[k];
        if (!rt->src)
            continue;
        vw_source_get_stats(rt->src, &rt->st);
        source_state_event(w, rt);
        if (!rt->st.substream && rt->st.width > 0)
            rt->main_area = (double)rt->st.width * rt->st.height;
    }
    check_load(w, now);
    manage_sources(w, now);
    if (w->dirty && vw_now_us() >= w->next_render_us)
        render(w);
    return !w->quit;
}

int vw_wall_wait_ms(const struct vw_wall *w)
{
    int64_t now = vw_now_us();
    int64_t wait = 250000; /* linger and state checks; SDL events in a window */
    if (w->dirty)
        wait = w->next_render_us - now;
    int64_t now_ms = vw_realtime_ms();
    int64_t exp = vw_state_next_expiry(vw_store_state(w->store), now_ms);
    if (exp > 0 && (exp - now_ms) * 1000 < wait)
        wait = (exp - now_ms) * 1000;
    int64_t at = vw_store_next_at(w->store); /* a cluster's value waiting for its moment */
    if (at > 0 && (at - now_ms) * 1000 < wait)
        wait = (at - now_ms) * 1000;
    if (w->cluster && wait > 100000)
        wait = 100000; /* heartbeats */
    if (vw_outputs_have_windows(w->outputs) && wait > 50000)
        wait = 50000; /* window events are not on our fds: look at them often */
    return wait <= 0 ? 0 : (int)((wait + 999) / 1000);
}

int vw_wall_wake_fd(const struct vw_wall *w)
{
    return w->wake_fd;
}

const struct vw_config *vw_wall_config(const struct vw_wall *w)
{
    return w->cfg;
}

bool vw_wall_all_tiles_have_pictures(struct vw_wall *w)
{
    const struct vw_scene_cfg *sc = vw_wall_shown(w);
    for (int t = 0; t < sc->tile_count; t++) {
        if (!rect_rendered(w, sc->tiles[t].rect))
            continue; /* not decoded here */
        struct source_rt *rt = vw_wall_rt(w, vw_wall_tile_source(w, t));
        if (!rt || !rt->has_picture)
            return false;
    }
    return true;
}

bool vw_wall_all_tiles_settled(struct vw_wall *w)
{
    const struct vw_scene_cfg *sc = vw_wall_shown(w);
    for (int t = 0; t < sc->tile_count; t++) {
        if (!rect_rendered(w, sc->tiles[t].rect))
            continue; /* not decoded here */
        struct source_rt *rt = vw_wall_rt(w, vw_wall_tile_source(w, t));
        if (!rt || (!rt->has_picture && rt->st.state != VW_SOURCE_OFFLINE))
            return false;
    }
    return true;
}

/* ---- reload ---------------------------------------------------------------------------- */

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Whether a running decoder for `a` can go on serving `b`. */
static bool same_feed(const struct vw_source_cfg *a, const struct vw_source_cfg *b)
{
    return strcmp(a->url, b->url) == 0 && same_str(a->substream, b->substream) &&
           a->loop == b->loop && a->hwaccel == b->hwaccel && same_str(a->transport, b->transport) &&
           a->stall_timeout == b->stall_timeout;
}

static bool same_list(char **a, int na, char **b, int nb)
{
    if (na != nb)
        return false;
    for (int i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

/* What a running wall cannot change: each such change is an error naming the key. */
/* Whether a reload keeps the cluster as it is: the servers, the bucket, the nodes and their
 * panels, the credentials. lead_ms and playout_ms may change. */
static bool same_cluster(const struct vw_cluster_cfg *a, const struct vw_cluster_cfg *b)
{
    if (a->enabled != b->enabled || !same_str(a->name, b->name) ||
        !same_list(a->nats, a->nats_count, b->nats, b->nats_count) ||
        a->node_count != b->node_count || !same_str(a->user, b->user) ||
        !same_str(a->password, b->password) || !same_str(a->token, b->token) ||
        !same_str(a->nkey, b->nkey) || !same_str(a->nkey_seed, b->nkey_seed) ||
        !same_str(a->creds, b->creds) || !same_str(a->tls_ca, b->tls_ca) ||
        !same_str(a->tls_cert, b->tls_cert) || !same_str(a->tls_key, b->tls_key))
        return false;
    for (int i = 0; i < a->node_count; i++)
        if (!same_str(a->nodes[i].id, b->nodes[i].id) ||
            !same_str(a->nodes[i].panels, b->nodes[i].panels))
            return false;
    return true;
}

static void check_reloadable(const struct vw_config *old, const struct vw_config *nc,
                             struct vw_errors *errs)
{
    if (nc->columns != old->columns || nc->rows != old->rows)
        vw_errors_add(errs, "%s: wall.columns/wall.rows changed; restart vwall to apply it",
                      nc->path);
    if (nc->screen_w != old->screen_w || nc->screen_h != old->screen_h)
        vw_errors_add(errs, "%s: wall.screen (the panel size) changed; restart vwall to apply it",
                      nc->path);
    if (!same_str(nc->output, old->output) || nc->display_count != old->display_count)
        vw_errors_add(errs, "%s: wall.output or wall.displays changed; restart vwall to apply it",
                      nc->path);
    if (!same_list(nc->control.listen, nc->control.listen_count, old->control.listen,
                   old->control.listen_count))
        vw_errors_add(errs, "%s: control.listen changed; restart vwall to open the new sockets",
                      nc->path);
    if (!same_str(nc->state_dir, old->state_dir))
        vw_errors_add(errs, "%s: wall.state_dir changed; restart vwall to apply it", nc->path);
    if (!same_cluster(&nc->cluster, &old->cluster))
        vw_errors_add(errs,
                      "%s: cluster (servers, name, nodes or credentials) changed; restart every "
                      "node to apply it (lead_ms and playout_ms apply on reload)",
                      nc->path);
}

/* The reload's worker: reads and checks the wall file, and what the file names that the
 * main thread must not wait for (a group looked up through NSS). */
static void *reload_main(void *ud)
{
    struct vw_wall *w = ud;
    w->reload_cfg = vw_config_load(w->cfg->path, &w->reload_errs);
    if (w->reload_cfg) {
        struct vw_control_cfg *cc = &w->reload_cfg->control;
        if (cc->socket_group) {
            cc->socket_gid_known = vw_config_group_id(cc->socket_group, &cc->socket_gid);
            if (!cc->socket_gid_known)
                vw_errors_add(&w->reload_errs,
                              "%s: control.socket_group: no group '%s' on this machine",
                              w->reload_cfg->path, cc->socket_group);
        }
    }
    atomic_store(&w->reload_parsed, true);
    wakeup(&w->wake_fd);
    return NULL;
}

bool vw_wall_reload_start(struct vw_wall *w, vw_reload_done_fn done, void *ud,
                          struct vw_wall_error *e)
{
    if (w->reloading) {
        e->code = "busy";
        snprintf(e->message, sizeof e->message,
                 "a reload of the wall file is running; try again when it is done");
        return false;
    }
    vw_errors_init(&w->reload_errs);
    w->reload_cfg = NULL;
    w->reload_done = done;
    w->reload_ud = ud;
    atomic_store(&w->reload_parsed, false);
    if (pthread_create(&w->reload_thread, NULL, reload_main, w) != 0) {
        vw_errors_finish(&w->reload_errs);
        e->code = "internal_error";
        snprintf(e->message, sizeof e->message, "cannot start the reload's thread");
        return false;
    }
    w->reloading = true;
    return true;
}

static void finish_reload_thread(struct vw_wall *w)
{
    if (!w->reloading)
        return;
    pthread_join(w->reload_thread, NULL);
    w->reloading = false;
}

/* Swaps model nc in (no errors found). Sources whose feed is unchanged keep decoding. */
static void swap_model(struct vw_wall *w, struct vw_config *nc)
{
    int old_n = w->cfg->source_count;
    struct source_rt **nrt = calloc((size_t)(nc->source_count + w->adhoc_count + 16), sizeof *nrt);
    if (!nrt)
        abort();
    int kept = 0;
    for (int k = 0; k < w->active_count;) {
        struct source_rt *rt = w->active[k];
        int ni;
        if (rt->index >= old_n) { /* ad-hoc: the same slot after the new wall file's sources */
            ni = nc->source_count + (rt->index - old_n);
        } else {
            ni = vw_config_find_source(nc, w->cfg->sources[rt->index].id);
            if (ni >= 0 && (!rt->src || !same_feed(&w->cfg->sources[rt->index], &nc->sources[ni])))
                ni = -1;
        }
        if (ni < 0) {
            stop_decoder(w, rt);
            w->active[k] = w->active[--w->active_count];
            free(rt);
            continue;
        }
        kept += ni < nc->source_count;
        rt->index = ni;
        nrt[ni] = rt;
        k++;
    }
    free(w->rt_of);
    w->rt_of = nrt;
    w->rt_of_cap = nc->source_count + w->adhoc_count + 16;
    bool new_labels = !same_str(nc->font, w->cfg->font) || nc->label_size != w->cfg->label_size;
    if (new_labels && !vw_renderer_set_labels(w->renderer, nc->font, nc->label_size))
        vw_warn("reload: can't start SDL_ttf for the new label font; labels keep the old one");
    vw_config_destroy(w->cfg);
    w->cfg = nc;
    w->saved_hidden_told = false; /* the new file may hide other saved scenes */
    w->geom = vw_geom_from_config(nc);
    if (w->cluster)
        vw_cluster_set_hash(w->cluster, nc->hash);
    collect_warm(w);
    const char *fallback = nc->scenes[nc->default_scene].id;
    if (vw_store_retain(w->store, nc->hash, scene_tiles, source_known, w, fallback))
        vw_info("reload: picks, pushes or saved tiles of what the wall file no longer has were "
                "dropped");
    vw_wall_resolve(w, "config.reload", true);
    manage_sources(w, vw_now_s());
    vw_info("reloaded %s: %d sources (%d kept decoding), %d scenes, showing '%s'", nc->path,
            nc->source_count, kept, nc->scene_count, vw_wall_shown(w)->id);
    cJSON *ev = vw_wall_new_event(w, "config.reloaded");
    if (ev) {
        cJSON_AddStringToObject(ev, "file", nc->path);
        cJSON_AddNumberToObject(ev, "sources", nc->source_count);
        cJSON_AddNumberToObject(ev, "scenes", nc->scene_count);
        vw_wall_emit(w, ev);
    }
}

static void sync_reload_done(void *ud, bool ok, const struct vw_errors *errs);

/* The parsed model goes in, or the errors out; the thread is joined. In a cluster, a reload
 * a console asked for goes on to every other node before it is answered. */
static void apply_reload(struct vw_wall *w)
{
    struct vw_config *nc = w->reload_cfg;
    w->reload_cfg = NULL;
    if (nc)
        check_reloadable(w->cfg, nc, &w->reload_errs);
    bool ok = nc && w->reload_errs.count == 0;
    if (ok) {
        swap_model(w, nc);
    } else {
        vw_warn("reload of %s refused (%d error%s); the wall keeps running the old one",
                w->cfg->path, w->reload_errs.count, w->reload_errs.count == 1 ? "" : "s");
        vw_config_destroy(nc);
        cJSON *ev = vw_wall_new_event(w, "config.reload_failed");
        if (ev) {
            cJSON_AddStringToObject(ev, "file", w->cfg->path);
            cJSON *list = cJSON_AddArrayToObject(ev, "errors");
            for (int i = 0; i < w->reload_errs.count; i++)
                cJSON_AddItemToArray(list, cJSON_CreateString(w->reload_errs.msgs[i]));
            vw_wall_emit(w, ev);
        }
    }
    if (w->cluster && w->reload_done && w->reload_done != sync_reload_done &&
        !vw_wall_answering_reload(w->reload_done))
        vw_wall_reload_others(w, ok, &w->reload_errs, w->reload_done, w->reload_ud);
    else if (w->reload_done)
        w->reload_done(w->reload_ud, ok, &w->reload_errs);
    vw_errors_finish(&w->reload_errs);
    w->reload_done = NULL;
}

struct sync_reload {
    struct vw_errors *errs;
    bool ok;
};

static void sync_reload_done(void *ud, bool ok, const struct vw_errors *errs)
{
    struct sync_reload *r = ud;
    r->ok = ok;
    for (int i = 0; i < errs->count; i++)
        vw_errors_add(r->errs, "%s", errs->msgs[i]);
}

bool vw_wall_reload(struct vw_wall *w, struct vw_errors *errs)
{
    struct vw_wall_error e;
    struct sync_reload r = {.errs = errs};
    if (!vw_wall_reload_start(w, sync_reload_done, &r, &e)) {
        vw_errors_add(errs, "%s", e.message);
        return false;
    }
    finish_reload_thread(w);
    apply_reload(w);
    return r.ok;
}

/* ---- screenshot ------------------------------------------------------------------------ */

uint8_t *vw_wall_snapshot(struct vw_wall *w, int *width, int *height, struct vw_errors *errs)
{
    return vw_wall_snapshot_scaled(w, 0, width, height, errs);
}

uint8_t *vw_wall_snapshot_scaled(struct vw_wall *w, int max_w, int *width, int *height,
                                 struct vw_errors *errs)
{
    return vw_wall_snapshot_over(w, max_w, NULL, 0, width, height, errs);
}

void vw_wall_picture_size(const struct vw_wall *w, int max_w, int *pw, int *ph)
{
    *pw = vw_geom_physical_w(&w->geom);
    *ph = vw_geom_physical_h(&w->geom);
    if (max_w > 0 && max_w < *pw) {
        *ph = (int)fmax(1, lround((double)*ph * max_w / *pw));
        *pw = max_w;
    }
}

uint8_t *vw_wall_snapshot_over(struct vw_wall *w, int max_w, const struct vw_draw_tile *over,
                               int n_over, int *width, int *height, struct vw_errors *errs)
{
    int pw, ph;
    vw_wall_picture_size(w, max_w, &pw, &ph); /* drawn small, not drawn big and shrunk */
    vw_outputs_make_current(w->outputs);
    struct vw_target *t = vw_target_create(w->renderer, pw, ph, errs);
    if (!t)
        return NULL;
    uint8_t *rgba = malloc((size_t)pw * (size_t)ph * 4);
    if (!rgba) {
        vw_target_destroy(t);
        vw_errors_add(errs, "screenshot: out of memory for %dx%d", pw, ph);
        return NULL;
    }
    bool deferred;
    take_frames(w, TAKE_BUDGET_MAX, &deferred);
    build_draw_list(w, vw_now_us());
    struct vw_output_block whole = {0, 0, w->geom.cols, w->geom.rows};
    vw_target_bind(t);
    draw_block(w, whole, pw, ph, w->draw, vw_wall_shown(w)->tile_count, true, true);
    if (n_over > 0)
        draw_block(w, whole, pw, ph, over, n_over, false, true);
    vw_target_read(t, rgba);
    vw_target_bind(NULL);
    vw_target_destroy(t);
    w->dirty = true; /* new frames were taken: the outputs draw the tiles that changed */
    *width = pw;
    *height = ph;
    return rgba;
}

bool vw_wall_screenshot(struct vw_wall *w, const char *path, struct vw_errors *errs)
{
    int pw, ph;
    uint8_t *rgba = vw_wall_snapshot(w, &pw, &ph, errs);
    if (!rgba)
        return false;
    bool ok = vw_png_write(path, rgba, pw, ph, errs);
    free(rgba);
    if (ok)
        vw_info("screenshot of the wall (%dx%d) written to %s", pw, ph, path);
    return ok;
}

/* ---- cheap reads for the service manager ------------------------------------------------ */

uint64_t vw_wall_frames_rendered(const struct vw_wall *w)
{
    return w->frames_rendered;
}

bool vw_wall_wants_redraw(const struct vw_wall *w)
{
    return w->dirty;
}

void vw_wall_live_sources(const struct vw_wall *w, int *live, int *total)
{
    const struct vw_scene_cfg *sc = vw_wall_shown(w);
    *live = *total = 0;
    for (int t = 0; t < sc->tile_count; t++) {
        if (!rect_rendered(w, sc->tiles[t].rect))
            continue; /* another wall's camera (--screens, --node) */
        int s = vw_wall_tile_source(w, t);
        bool seen = false;
        for (int u = 0; u < t && !seen; u++)
            seen = vw_wall_tile_source(w, u) == s && rect_rendered(w, sc->tiles[u].rect);
        if (seen)
            continue;
        (*total)++;
        struct source_rt *rt = vw_wall_rt(w, s);
        if (rt && rt->src && rt->st.state == VW_SOURCE_LIVE)
            (*live)++;
    }
}
