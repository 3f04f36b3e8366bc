/* wall: the running wall. Owns the model (config), the scene state, the sources that decode,
 * the SDL windows and GL context, and the renderer. Main thread only.
 *
 * Each tick: SDL events → scene expiry → which sources should decode (scene ∪ warm ∪
 * lingering) → source state changes become events → when a render is due, take each
 * source's newest frame (uploading only new ones, once per source however many tiles show
 * it) and draw every panel of every output. */
#include "wall/wall.h"

#include <SDL.h>
#include <cjson/cJSON.h>
#include <epoxy/gl.h>
#include <errno.h>
#include <libavutil/frame.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "model/geometry.h"
#include "base/log.h"
#include "render/png.h"
#include "render/renderer.h"
#include "state/scene.h"
#include "feeds/source.h"
#include "base/timeutil.h"

#ifndef VWALL_SHADER_DIR
#define VWALL_SHADER_DIR "shaders"
#endif

/* Main-stream size assumed until one is decoded: what most IP cameras send. */
#define MAIN_STREAM_AREA_GUESS (1920.0 * 1080.0)
/* After this long without a frame, a tile gives up its last picture for the slate. */
#define KEEP_LAST_FRAME_S 60.0
#define LATENCY_SAMPLES 1024

/* A source's life on the wall: the decoder (while it should run) and its texture. */
struct source_rt {
    struct vw_source *src; /* NULL while not decoding */
    struct vw_texture *tex;
    double left_at; /* when it last left the scene (for linger); 0 while shown */
    enum vw_source_state last_state;
    char last_error[256];
    bool has_picture;          /* tex holds a frame of this source */
    uint64_t serial;           /* counts uploads: a tile showing it redraws when it changes */
    struct vw_source_stats st; /* read once per tick (the state the wall acts on) */
    uint64_t decoded_seen;     /* frames_decoded at the last look */
    uint64_t hidden;           /* frames decoded while no tile showed it (warm, lingering) */
    bool substream;            /* substream asked for */
    double main_area;          /* pixels of the main stream, once seen decoding it; 0 before */
    bool skip_nonref;          /* asked to skip non-reference frames (overload) */
    uint64_t late_seen;        /* frames_late at the last overload check */
    int64_t picture_at_us;     /* when the texture's frame was decoded */
};

/* One output: a window (or, offscreen, an FBO) showing a block of panels. */
struct output {
    SDL_Window *win;                  /* NULL offscreen */
    struct vw_target *target;         /* offscreen only */
    int panel_x, panel_y, cols, rows; /* the block of panels it shows */
    /* A window shown through its SDL window surface instead of a GL swap (see
     * present_surface); false once that failed, for good. */
    bool surface;
    uint32_t *staging; /* the composition read back, rows bottom first */
    size_t staging_size;
};

struct vw_wall {
    struct vw_config *cfg;
    struct vw_geom geom;
    struct vw_wall_options opt;
    bool *panel_on; /* per panel (r·columns + c): rendered (--screens) */

    SDL_GLContext gl;
    SDL_Window *gl_window; /* the window the context was made with */
    struct output *outputs;
    int output_count;
    struct vw_renderer *renderer;

    struct source_rt *rt; /* per config source */
    struct vw_scene_stack stack;
    int shown_scene; /* the scene drawn, to notice changes */
    int *assign;     /* per tile of shown_scene: assigned source index, or -1 */
    int assign_count;

    int wake_fd;
    double overload_until; /* decoders fell behind: shed load in small tiles until then */
    double next_load_check;
    bool dirty; /* something to draw */
    bool quit;
    int64_t next_render_us;
    int64_t started_us;

    /* stats */
    double render_cpu_at_start; /* this thread's CPU seconds when the wall started */
    uint64_t frames_rendered;
    uint64_t frames_uploaded; /* textures updated: one per new frame of a source shown */
    uint64_t dropped_retired; /* frames dropped by sources since destroyed */
    double render_fps;
    uint64_t fps_frames;
    int64_t fps_since_us;
    int64_t latency_us[LATENCY_SAMPLES];
    int latency_count, latency_next;
    int64_t switch_started_us; /* 0: no switch waiting for its first frames */
    int last_switch_ms;        /* -1 before any */

    cJSON *events;                /* array of pending events */
    bool events_on;               /* someone takes them (vw_wall_set_events) */
    struct vw_draw_tile *draw;    /* every tile of the scene showing */
    struct vw_draw_tile *changed; /* the tiles that look different since the last redraw */
    struct drawn *drawn;          /* per tile: what the last redraw showed */
    int draw_cap;
    bool full_redraw;      /* redraw everything: scene, assignment or model changed */
    bool tiles_overlap;    /* in the scene showing: partial redraws would be wrong */
    char (*texts)[2][160]; /* per tile: slate detail, badge text */

    /* scratch, per config source (sized with the model, so the loop allocates nothing) */
    bool *in_scene;
    double *max_area;
    int64_t *fresh_at;
};

/* What a tile showed at the last redraw: a redraw of it is needed when any of it changes. */
struct drawn {
    uint64_t serial; /* its source's upload count, 0 for the slate */
    char badge[64];
    char detail[160];
};

/* ---- events ---------------------------------------------------------------------------- */

/* A new event named `name`, or NULL when nobody takes events: then none is built. */
static cJSON *new_event(struct vw_wall *w, const char *name)
{
    if (!w->events_on)
        return NULL;
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "event", name);
    return ev;
}

static void emit(struct vw_wall *w, cJSON *ev)
{
    cJSON_AddItemToArray(w->events, ev);
}

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

/* ---- scenes ---------------------------------------------------------------------------- */

static const struct vw_scene_cfg *shown(const struct vw_wall *w)
{
    return &w->cfg->scenes[w->shown_scene];
}

/* The source a tile of the shown scene shows, after tile.assign. */
static int tile_source(const struct vw_wall *w, int tile)
{
    if (tile < w->assign_count && w->assign[tile] >= 0)
        return w->assign[tile];
    return shown(w)->tiles[tile].source;
}

/* Makes the stack's current scene the shown one (tile assignments end when it changes) and
 * tells every console: the event goes out even when only the base or the stack under the
 * scene showing changed, so consoles stay in step. */
static void apply_scene(struct vw_wall *w, const char *by)
{
    int cur = vw_scene_stack_current(&w->stack);
    if (cur != w->shown_scene || !w->assign) {
        w->shown_scene = cur;
        free(w->assign);
        w->assign_count = shown(w)->tile_count;
        w->assign = malloc(sizeof *w->assign * (size_t)(w->assign_count ? w->assign_count : 1));
        if (!w->assign)
            abort();
        for (int i = 0; i < w->assign_count; i++)
            w->assign[i] = -1;
        w->tiles_overlap = false;
        for (int i = 0; i < w->assign_count; i++)
            for (int j = i + 1; j < w->assign_count; j++)
                if (vw_box_intersects(vw_geom_tile_box(&w->geom, shown(w)->tiles[i].rect),
                                      vw_geom_tile_box(&w->geom, shown(w)->tiles[j].rect)))
                    w->tiles_overlap = true;
        w->full_redraw = true;
        w->dirty = true;
        w->switch_started_us = vw_now_us();
        vw_info("scene '%s' now showing (base '%s', by %s)", shown(w)->id,
                w->cfg->scenes[w->stack.base].id, by ? by : "wall");
    }
    cJSON *ev = new_event(w, "scene.changed");
    if (ev) {
        cJSON_AddStringToObject(ev, "scene", shown(w)->id);
        cJSON_AddStringToObject(ev, "base_scene", w->cfg->scenes[w->stack.base].id);
        cJSON_AddNumberToObject(ev, "stack", w->stack.count);
        cJSON_AddStringToObject(ev, "by", by ? by : "wall");
        emit(w, ev);
    }
}

bool vw_wall_switch(struct vw_wall *w, const char *scene_id, const char *by)
{
    int s = vw_config_find_scene(w->cfg, scene_id);
    if (s < 0)
        return false;
    w->stack.base = s;
    apply_scene(w, by);
    return true;
}

bool vw_wall_push(struct vw_wall *w, const char *scene_id, int priority, double ttl, const char *by)
{
    int s = vw_config_find_scene(w->cfg, scene_id);
    if (s < 0)
        return false;
    vw_scene_stack_push(&w->stack, s, priority, ttl, vw_now_s());
    vw_info("scene '%s' pushed (priority %d, ttl %g s, by %s)", scene_id, priority, ttl, by);
    apply_scene(w, by);
    return true;
}

bool vw_wall_pop(struct vw_wall *w, const char *scene_id, const char *by)
{
    int s = vw_config_find_scene(w->cfg, scene_id);
    if (s < 0 || !vw_scene_stack_pop(&w->stack, s))
        return false;
    vw_info("scene '%s' popped (by %s)", scene_id, by);
    apply_scene(w, by);
    return true;
}

enum vw_assign_result vw_wall_assign(struct vw_wall *w, int tile_index, const char *tile_id,
                                     const char *source_id, const char *by)
{
    const struct vw_scene_cfg *sc = shown(w);
    int tile = -1;
    if (tile_id) {
        for (int i = 0; i < sc->tile_count; i++)
            if (sc->tiles[i].id && strcmp(sc->tiles[i].id, tile_id) == 0)
                tile = i;
    } else if (tile_index >= 0 && tile_index < sc->tile_count) {
        tile = tile_index;
    }
    if (tile < 0)
        return VW_ASSIGN_BAD_TILE;
    int src = vw_config_find_source(w->cfg, source_id);
    if (src < 0)
        return VW_ASSIGN_UNKNOWN_SOURCE;
    w->assign[tile] = src;
    w->full_redraw = true;
    w->dirty = true;
    w->switch_started_us = vw_now_us();
    vw_info("scene '%s' tile %d now shows '%s' (by %s)", sc->id, tile, source_id, by);
    cJSON *ev = new_event(w, "tile.assigned");
    if (ev) {
        cJSON_AddStringToObject(ev, "scene", sc->id);
        cJSON_AddNumberToObject(ev, "tile", tile);
        cJSON_AddStringToObject(ev, "source", source_id);
        cJSON_AddStringToObject(ev, "by", by ? by : "wall");
        emit(w, ev);
    }
    return VW_ASSIGN_OK;
}

/* ---- sources --------------------------------------------------------------------------- */

/* CPU seconds the calling thread has used: the wall's (the render thread's) for status. */
static double thread_cpu_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Frames a source decoded while a tile showed it but that were replaced before the renderer
 * took them: decoded − shown − decoded while hidden − `pending` (a newest frame not yet
 * taken). */
static uint64_t frames_dropped(const struct vw_source_stats *st, uint64_t hidden, uint64_t pending)
{
    uint64_t seen = st->frames_shown + hidden + pending;
    return st->frames_decoded > seen ? st->frames_decoded - seen : 0;
}

static void stop_source(struct vw_wall *w, struct source_rt *rt)
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
    rt->skip_nonref = false;
    rt->late_seen = 0;
    rt->decoded_seen = rt->hidden = 0;
    memset(&rt->st, 0, sizeof rt->st); /* idle */
    rt->last_state = VW_SOURCE_IDLE;
    rt->last_error[0] = '\0';
}

/* Once a second: when any decoder fell behind its stream, the wall is overloaded for the
 * next OVERLOAD_HOLD_S seconds. */
#define OVERLOAD_HOLD_S 10.0
#define OVERLOAD_LATE_FRAMES 3 /* late frames in one second from one source */

static void check_load(struct vw_wall *w, double now)
{
    if (now < w->next_load_check)
        return;
    w->next_load_check = now + 1.0;
    for (int i = 0; i < w->cfg->source_count; i++) {
        struct source_rt *rt = &w->rt[i];
        if (!rt->src)
            continue;
        const struct vw_source_stats st = rt->st;
        uint64_t late = st.frames_late - (st.frames_late >= rt->late_seen ? rt->late_seen : 0);
        rt->late_seen = st.frames_late;
        if (late >= OVERLOAD_LATE_FRAMES) {
            if (w->overload_until < now)
                vw_warn("source '%s' fell behind (%llu late frames in 1 s): skipping non-reference "
                        "frames in the smallest tiles",
                        w->cfg->sources[i].id, (unsigned long long)late);
            w->overload_until = now + OVERLOAD_HOLD_S;
        }
    }
}

/* Starts the sources the shown scene needs and warm ones; stops those whose linger passed.
 * Under overload, sources whose largest tile is the scene's smallest size skip non-reference
 * frames, so frames are dropped where they cost least. */
static void manage_sources(struct vw_wall *w, double now)
{
    int n = w->cfg->source_count;
    bool *in_scene = w->in_scene;
    double *max_area = w->max_area;
    for (int i = 0; i < n; i++) {
        in_scene[i] = false;
        max_area[i] = 0;
    }
    double smallest = INFINITY;
    for (int t = 0; t < shown(w)->tile_count; t++) {
        int s = tile_source(w, t);
        struct vw_box b = vw_geom_tile_box(&w->geom, shown(w)->tiles[t].rect);
        double area = (b.x1 - b.x0) * (b.y1 - b.y0);
        in_scene[s] = true;
        if (area > max_area[s])
            max_area[s] = area;
    }
    for (int i = 0; i < n; i++)
        if (in_scene[i] && max_area[i] < smallest)
            smallest = max_area[i];
    bool overloaded = w->overload_until > now;
    for (int i = 0; i < n; i++) {
        const struct vw_source_cfg *sc = &w->cfg->sources[i];
        struct source_rt *rt = &w->rt[i];
        if (w->opt.no_connect)
            continue;
        if (in_scene[i] || sc->warm) {
            rt->left_at = 0;
            /* The substream when the main stream would be shrunk by substream_ratio or more
             * in the largest tile showing it. */
            double main_area = rt->main_area > 0 ? rt->main_area : MAIN_STREAM_AREA_GUESS;
            bool want_sub =
                sc->substream && in_scene[i] && main_area >= sc->substream_ratio * max_area[i];
            if (!rt->src) {
                rt->src = vw_source_create(sc, want_sub, wakeup, &w->wake_fd);
                rt->tex = vw_texture_create(w->renderer);
                rt->substream = want_sub;
                if (!rt->src)
                    vw_err("source '%s': cannot start its thread", sc->id);
            }
            if (rt->src && sc->substream && want_sub != rt->substream) {
                rt->substream = want_sub;
                vw_source_prefer_substream(rt->src, want_sub);
            }
            bool skip = overloaded && (!in_scene[i] || max_area[i] <= smallest * 1.01);
            if (rt->src && skip != rt->skip_nonref) {
                rt->skip_nonref = skip;
                vw_source_set_skip_nonref(rt->src, skip);
            }
        } else if (rt->src) {
            if (rt->left_at == 0)
                rt->left_at = now;
            else if (now - rt->left_at >= sc->linger) {
                vw_info("source '%s': not shown for %.0f s, stopping", sc->id, sc->linger);
                stop_source(w, rt);
            }
        }
    }
}

static void source_state_event(struct vw_wall *w, int i, const struct vw_source_stats *st)
{
    struct source_rt *rt = &w->rt[i];
    if (st->state == rt->last_state && strcmp(st->error, rt->last_error) == 0)
        return;
    rt->last_state = st->state;
    snprintf(rt->last_error, sizeof rt->last_error, "%s", st->error);
    w->dirty = true;
    cJSON *ev = new_event(w, "source.state");
    if (ev) {
        cJSON_AddStringToObject(ev, "source", w->cfg->sources[i].id);
        cJSON_AddStringToObject(ev, "state", vw_source_state_name(st->state));
        if (st->error[0])
            cJSON_AddStringToObject(ev, "error", st->error);
        else
            cJSON_AddNullToObject(ev, "error");
        emit(w, ev);
    }
}

/* ---- outputs --------------------------------------------------------------------------- */

/* Parses "0-8,12" into w->panel_on. */
static bool parse_screens(struct vw_wall *w, const char *spec, struct vw_errors *errs)
{
    int n = w->cfg->columns * w->cfg->rows;
    for (int i = 0; i < n; i++)
        w->panel_on[i] = spec == NULL;
    if (!spec)
        return true;
    const char *p = spec;
    while (*p) {
        char *end;
        long a = strtol(p, &end, 10), b = a;
        if (end == p)
            goto bad;
        if (*end == '-') {
            p = end + 1;
            b = strtol(p, &end, 10);
            if (end == p)
                goto bad;
        }
        if (a < 0 || b >= n || a > b) {
            vw_errors_add(errs, "--screens %s: panels are numbered 0..%d (row by row)", spec,
                          n - 1);
            return false;
        }
        for (long i = a; i <= b; i++)
            w->panel_on[i] = true;
        p = end;
        if (*p == ',')
            p++;
        else if (*p)
            goto bad;
    }
    return true;
bad:
    vw_errors_add(errs, "--screens %s: expected panel numbers and ranges such as 0-8,12", spec);
    return false;
}

/* The smallest block of panels holding every panel rendered. */
static void selected_block(const struct vw_wall *w, int *x, int *y, int *cols, int *rows)
{
    int x0 = w->cfg->columns, y0 = w->cfg->rows, x1 = -1, y1 = -1;
    for (int r = 0; r < w->cfg->rows; r++)
        for (int c = 0; c < w->cfg->columns; c++)
            if (w->panel_on[r * w->cfg->columns + c]) {
                x0 = c < x0 ? c : x0;
                y0 = r < y0 ? r : y0;
                x1 = c > x1 ? c : x1;
                y1 = r > y1 ? r : y1;
            }
    *x = x0;
    *y = y0;
    *cols = x1 - x0 + 1;
    *rows = y1 - y0 + 1;
}

static SDL_Window *make_window(const char *title, int x, int y, int wd, int ht, Uint32 flags,
                               struct vw_errors *errs)
{
    SDL_Window *win = SDL_CreateWindow(title, x, y, wd, ht, flags | SDL_WINDOW_OPENGL);
    if (!win)
        vw_errors_add(errs, "cannot create a window: %s", SDL_GetError());
    return win;
}

static bool add_output(struct vw_wall *w, SDL_Window *win, int px, int py, int cols, int rows)
{
    struct output *o = realloc(w->outputs, sizeof *o * (size_t)(w->output_count + 1));
    if (!o)
        return false;
    w->outputs = o;
    w->outputs[w->output_count++] =
        (struct output){.win = win, .panel_x = px, .panel_y = py, .cols = cols, .rows = rows};
    return true;
}

static bool create_outputs(struct vw_wall *w, struct vw_errors *errs)
{
    const char *title = w->cfg->name ? w->cfg->name : "vwall";
    enum vw_output_mode mode = w->opt.output;
    if (mode == VW_OUTPUT_CONFIG) {
        const char *o = w->cfg->output ? w->cfg->output : "window";
        mode = strcmp(o, "fullscreen") == 0 ? VW_OUTPUT_FULLSCREEN
               : strcmp(o, "displays") == 0 ? VW_OUTPUT_DISPLAYS
                                            : VW_OUTPUT_WINDOW;
    }
    int bx, by, bc, br;
    selected_block(w, &bx, &by, &bc, &br);
    int phys_w = bc * w->cfg->screen_w, phys_h = br * w->cfg->screen_h;

    if (mode == VW_OUTPUT_OFFSCREEN) {
        /* A hidden window only holds the GL context; frames go to an FBO. */
        SDL_Window *win = make_window(title, 0, 0, 16, 16, SDL_WINDOW_HIDDEN, errs);
        if (!win)
            return false;
        w->gl_window = win;
        return add_output(w, NULL, bx, by, bc, br);
    }
    if (mode == VW_OUTPUT_WINDOW) {
        SDL_Rect usable = {0, 0, 1280, 720};
        SDL_GetDisplayUsableBounds(0, &usable);
        double s = fmin(1.0, fmin(0.9 * usable.w / phys_w, 0.9 * usable.h / phys_h));
        int ww = (int)fmax(64, phys_w * s), wh = (int)fmax(36, phys_h * s);
        SDL_Window *win = make_window(title, SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, ww, wh,
                                      SDL_WINDOW_RESIZABLE | SDL_WINDOW_ALLOW_HIGHDPI, errs);
        if (!win)
            return false;
        w->gl_window = win;
        return add_output(w, win, bx, by, bc, br);
    }
    if (mode == VW_OUTPUT_FULLSCREEN) {
        /* One borderless window over the union of every display (Mosaic, Eyefinity, one X
         * screen across outputs). */
        SDL_Rect all = {0, 0, 0, 0};
        int nd = SDL_GetNumVideoDisplays();
        for (int d = 0; d < nd; d++) {
            SDL_Rect r;
            if (SDL_GetDisplayBounds(d, &r) == 0)
                SDL_UnionRect(&all, &r, &all);
        }
        if (all.w == 0) {
            all.w = phys_w;
            all.h = phys_h;
        }
        SDL_Window *win =
            make_window(title, all.x, all.y, all.w, all.h,
                        nd > 1 ? SDL_WINDOW_BORDERLESS : SDL_WINDOW_FULLSCREEN_DESKTOP, errs);
        if (!win)
            return false;
        w->gl_window = win;
        SDL_ShowCursor(SDL_DISABLE);
        return add_output(w, win, bx, by, bc, br);
    }
    /* VW_OUTPUT_DISPLAYS: one fullscreen window per display, panels as the wall file maps. */
    if (w->cfg->display_count == 0) {
        vw_errors_add(errs, "%s: output \"displays\" needs a wall.displays list", w->cfg->path);
        return false;
    }
    for (int i = 0; i < w->cfg->display_count; i++) {
        const struct vw_display_cfg *d = &w->cfg->displays[i];
        SDL_Rect r;
        if (SDL_GetDisplayBounds(d->display, &r) != 0) {
            vw_errors_add(errs, "%s: display %d: %s", w->cfg->path, d->display, SDL_GetError());
            return false;
        }
        SDL_Window *win =
            make_window(title, r.x, r.y, r.w, r.h, SDL_WINDOW_FULLSCREEN_DESKTOP, errs);
        if (!win)
            return false;
        if (!w->gl_window)
            w->gl_window = win;
        if (!add_output(w, win, d->panel_x, d->panel_y, d->columns, d->rows))
            return false;
    }
    SDL_ShowCursor(SDL_DISABLE);
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

/* Fills w->draw for the shown scene. Returns true when a tile shows a growing age (the
 * wall must redraw once a second to keep it honest). */
static bool build_draw_list(struct vw_wall *w, int64_t now_us)
{
    const struct vw_scene_cfg *sc = shown(w);
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
        int s = tile_source(w, t);
        const struct vw_source_cfg *scfg = &w->cfg->sources[s];
        struct source_rt *rt = &w->rt[s];
        const struct vw_source_stats st = rt->st;
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
        double age = rt->has_picture ? (double)(now_us - rt->picture_at_us) / 1e6 : 0;
        bool picture = rt->has_picture && age < KEEP_LAST_FRAME_S;
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
        if (w->opt.no_connect)
            snprintf(detail, 160, "PREVIEW · source not opened");
        else if (st.error[0])
            snprintf(detail, 160, "NO SIGNAL · %s: %.100s", vw_source_state_name(st.state),
                     st.error);
        else
            snprintf(detail, 160, "NO SIGNAL · %s", vw_source_state_name(st.state));
    }
    return ticking;
}

/* Draws the panels of output `o` into the bound framebuffer of fb_w×fb_h, the block of
 * panels scaled to fit and centred: every tile after clearing (`clear`), or only `tiles`
 * over what the framebuffer holds. */
static void draw_output(struct vw_wall *w, const struct output *o, int fb_w, int fb_h,
                        const struct vw_draw_tile *tiles, int n, bool clear)
{
    const struct vw_geom *g = &w->geom;
    double bw = (double)o->cols * g->W, bh = (double)o->rows * g->H;
    double s = fmin(fb_w / bw, fb_h / bh);
    double ox = (fb_w - bw * s) / 2, oy = (fb_h - bh * s) / 2;
    if (clear)
        vw_renderer_begin(w->renderer, fb_w, fb_h);
    else
        vw_renderer_begin_over(w->renderer, fb_w, fb_h);
    for (int r = o->panel_y; r < o->panel_y + o->rows; r++) {
        for (int c = o->panel_x; c < o->panel_x + o->cols; c++) {
            if (r >= g->rows || c >= g->cols || !w->panel_on[r * g->cols + c])
                continue;
            /* Integer pixel edges: neighbours share them, so no seam and no overlap. */
            int x0 = (int)lround(ox + (c - o->panel_x) * g->W * s);
            int x1 = (int)lround(ox + (c - o->panel_x + 1) * g->W * s);
            int y0 = (int)lround(oy + (r - o->panel_y) * g->H * s);
            int y1 = (int)lround(oy + (r - o->panel_y + 1) * g->H * s);
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
    for (int t = 0; t < shown(w)->tile_count; t++) {
        const struct vw_draw_tile *d = &w->draw[t];
        struct drawn now = {.serial = d->tex ? w->rt[tile_source(w, t)].serial : 0};
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

/* Makes sure output `o` has a composition target of fb_w×fb_h; false when it can't. A new
 * target starts empty: *full is set. */
static bool ensure_target(struct vw_wall *w, struct output *o, int fb_w, int fb_h, bool *full)
{
    if (o->target && vw_target_width(o->target) == fb_w && vw_target_height(o->target) == fb_h)
        return true;
    vw_target_destroy(o->target);
    struct vw_errors errs;
    vw_errors_init(&errs);
    o->target = vw_target_create(w->renderer, fb_w, fb_h, &errs);
    if (!o->target)
        vw_err("output: %s", vw_errors_first(&errs));
    vw_errors_finish(&errs);
    *full = true;
    return o->target != NULL;
}

/* Takes the newest frame of every source a tile shows and uploads the new ones. Sources
 * decoding unseen (warm, lingering) are left alone: their mailbox keeps the newest frame
 * for the moment a tile shows them again. */
static void take_frames(struct vw_wall *w, int64_t *fresh_at, int *n_fresh)
{
    *n_fresh = 0;
    for (int i = 0; i < w->cfg->source_count; i++) {
        struct source_rt *rt = &w->rt[i];
        if (!rt->src)
            continue;
        uint64_t decoded = rt->st.frames_decoded;
        uint64_t since = decoded - rt->decoded_seen;
        rt->decoded_seen = decoded;
        if (!w->in_scene[i]) {
            rt->hidden += since;
            continue;
        }
        bool fresh = false;
        int64_t decoded_at = 0;
        AVFrame *f = vw_source_frame(rt->src, &fresh, &decoded_at);
        if (f && fresh) {
            /* the wall needs the frame no more: the texture may keep its buffers */
            if (vw_texture_upload_take(rt->tex, f)) {
                w->frames_uploaded++;
                rt->serial++;
                rt->has_picture = true;
                rt->picture_at_us = decoded_at;
                fresh_at[(*n_fresh)++] = decoded_at;
            }
        }
    }
}

/* With software GL a window costs llvmpipe a full-window copy quad and a swap on every
 * redraw. On x11 the finished composition can instead go straight to the window's SDL
 * surface (an XImage, shared memory when the server has it): read back with glReadPixels,
 * rows flipped and R/B swapped for the X visual, put with SDL_UpdateWindowSurface. false
 * when this output can't (another surface format, no surface): the GL copy then. */
static bool present_surface(struct output *o)
{
    if (!o->surface)
        return false;
    int fw = vw_target_width(o->target), fh = vw_target_height(o->target);
    SDL_Surface *s = SDL_GetWindowSurface(o->win);
    bool bgrx = s && (s->format->format == SDL_PIXELFORMAT_RGB888 ||
                      s->format->format == SDL_PIXELFORMAT_ARGB8888);
    if (!s || !bgrx || s->w != fw || s->h != fh) {
        if (!s || !bgrx) {
            vw_info("output: window surface %s; presenting through GL",
                    s ? SDL_GetPixelFormatName(s->format->format) : SDL_GetError());
            o->surface = false;
        }
        return false; /* a size between a resize and its event: GL this once */
    }
    size_t need = (size_t)fw * (size_t)fh;
    if (o->staging_size < need) {
        free(o->staging);
        o->staging_size = 0;
        if (!(o->staging = malloc(need * 4)))
            return false;
        o->staging_size = need;
    }
    vw_target_read_bottom_up(o->target, (uint8_t *)o->staging);
    if (SDL_MUSTLOCK(s) && SDL_LockSurface(s) != 0)
        return false;
    for (int y = 0; y < fh; y++) {
        const uint32_t *in = o->staging + (size_t)(fh - 1 - y) * (size_t)fw;
        uint32_t *out = (uint32_t *)((uint8_t *)s->pixels + (size_t)y * (size_t)s->pitch);
        for (int x = 0; x < fw; x++) { /* R,G,B,A bytes to B,G,R,X */
            uint32_t v = in[x];
            out[x] = (v & 0xff00ff00u) | (v & 0xffu) << 16 | (v >> 16 & 0xffu);
        }
    }
    if (SDL_MUSTLOCK(s))
        SDL_UnlockSurface(s);
    if (SDL_UpdateWindowSurface(o->win) != 0) {
        vw_info("output: window surface update failed (%s); presenting through GL", SDL_GetError());
        o->surface = false;
        return false;
    }
    return true;
}

static void render(struct vw_wall *w)
{
    int64_t now = vw_now_us();
    int64_t *fresh_at = w->fresh_at;
    int n_fresh;
    take_frames(w, fresh_at, &n_fresh);
    bool ticking = build_draw_list(w, now);
    /* Only the tiles that changed are drawn, over the last composition, unless tiles overlap
     * (then a tile's redraw would cover its neighbour). Each output composes into its own
     * target, which a window then copies to the screen. */
    bool full = w->full_redraw || w->tiles_overlap;
    int n_changed = collect_changed(w, full);
    w->full_redraw = false;

    bool drew = false;
    for (int i = 0; i < w->output_count; i++) {
        struct output *o = &w->outputs[i];
        int fw = o->cols * w->geom.W, fh = o->rows * w->geom.H;
        if (o->win) {
            SDL_GL_MakeCurrent(o->win, w->gl);
            SDL_GL_GetDrawableSize(o->win, &fw, &fh);
        }
        bool out_full = full;
        if (!ensure_target(w, o, fw, fh, &out_full))
            continue;
        if (!out_full && n_changed == 0)
            continue;
        vw_target_bind(o->target);
        drew = true;
        if (out_full)
            draw_output(w, o, fw, fh, w->draw, shown(w)->tile_count, true);
        else
            draw_output(w, o, fw, fh, w->changed, n_changed, false);
        if (o->win) {
            if (!present_surface(o)) {
                vw_target_blit_to_window(w->renderer, o->target);
                SDL_GL_SwapWindow(o->win);
            }
        } else {
            glFinish(); /* what a swap would wait for: the frame really drawn */
        }
        vw_target_bind(NULL);
    }
    int64_t presented = vw_now_us();
    for (int i = 0; i < n_fresh; i++) {
        w->latency_us[w->latency_next] = presented - fresh_at[i];
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
        vw_info("scene '%s': every tile has a picture, %d ms after the switch", shown(w)->id,
                w->last_switch_ms);
        w->switch_started_us = 0;
    }
    w->dirty = ticking; /* an age on screen must keep counting */
    int64_t interval = (int64_t)(1e6 / (w->opt.max_fps > 0 ? w->opt.max_fps : 60));
    w->next_render_us = now + (ticking && n_fresh == 0 ? 1000000 - (now % 1000000) : interval);
}

/* ---- life cycle ------------------------------------------------------------------------ */

/* Sizes the per-source scratch arrays for the model now loaded. */
static void size_scratch(struct vw_wall *w)
{
    size_t n = (size_t)(w->cfg->source_count ? w->cfg->source_count : 1);
    free(w->in_scene);
    free(w->max_area);
    free(w->fresh_at);
    w->in_scene = calloc(n, sizeof *w->in_scene);
    w->max_area = calloc(n, sizeof *w->max_area);
    w->fresh_at = calloc(n, sizeof *w->fresh_at);
    if (!w->in_scene || !w->max_area || !w->fresh_at)
        abort();
}

static bool init_runtime(struct vw_wall *w, struct vw_errors *errs)
{
    w->geom = vw_geom_from_config(w->cfg);
    w->rt = calloc((size_t)(w->cfg->source_count ? w->cfg->source_count : 1), sizeof *w->rt);
    w->panel_on = calloc((size_t)(w->cfg->columns * w->cfg->rows), sizeof *w->panel_on);
    if (!w->rt || !w->panel_on)
        abort();
    size_scratch(w);
    return parse_screens(w, w->opt.screens, errs);
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
    w->started_us = w->fps_since_us = vw_now_us();
    w->render_cpu_at_start = thread_cpu_s();
    w->events = cJSON_CreateArray();
    w->events_on = true;
    if (!init_runtime(w, errs))
        goto fail;

    int start = cfg->default_scene;
    if (opt->scene) {
        start = vw_config_find_scene(cfg, opt->scene);
        if (start < 0) {
            vw_errors_add(errs, "--scene %s: no such scene in %s", opt->scene, cfg->path);
            goto fail;
        }
    }
    vw_scene_stack_init(&w->stack, start);
    w->shown_scene = start;

    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->wake_fd < 0) {
        vw_errors_add(errs, "eventfd: %s", strerror(errno));
        goto fail;
    }

    if (SDL_InitSubSystem(SDL_INIT_VIDEO) != 0) {
        vw_errors_add(errs, "cannot start video (SDL driver %s): %s",
                      getenv("SDL_VIDEODRIVER") ? getenv("SDL_VIDEODRIVER") : "default",
                      SDL_GetError());
        goto fail;
    }
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_PROFILE_MASK, SDL_GL_CONTEXT_PROFILE_CORE);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, 3);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MINOR_VERSION, 3);
    SDL_GL_SetAttribute(SDL_GL_DOUBLEBUFFER, 1);
    SDL_GL_SetAttribute(SDL_GL_SHARE_WITH_CURRENT_CONTEXT, 1);
    if (!create_outputs(w, errs))
        goto fail;
    w->gl = SDL_GL_CreateContext(w->gl_window);
    if (!w->gl) {
        vw_errors_add(errs, "cannot create an OpenGL 3.3 core context: %s", SDL_GetError());
        goto fail;
    }
    SDL_GL_SetSwapInterval(opt->vsync ? 1 : 0);
    vw_gl_keep_libraries_loaded();
    vw_info("video driver %s, OpenGL %s (%s)", SDL_GetCurrentVideoDriver(),
            (const char *)glGetString(GL_VERSION), (const char *)glGetString(GL_RENDERER));

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
    vw_info("pictures scaled and converted by the %s",
            vw_renderer_compose(w->renderer) == VW_COMPOSE_CPU
                ? "CPU (software GL; --compose gpu for shaders)"
                : "GPU (shaders)");
    /* Software GL on x11: windows through their surfaces (present_surface). SDL would
     * otherwise back a window surface with a texture of its own GL renderer. */
    const char *driver = SDL_GetCurrentVideoDriver();
    bool surfaces = !opt->present_gl && vw_renderer_compose(w->renderer) == VW_COMPOSE_CPU &&
                    driver && strcmp(driver, "x11") == 0;
    if (surfaces)
        SDL_SetHint(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0");
    for (int i = 0; i < w->output_count; i++)
        w->outputs[i].surface = surfaces && w->outputs[i].win;
    if (surfaces && w->output_count > 0 && w->outputs[0].win)
        vw_info("windows presented through their x11 surfaces (--present gl for a GL swap)");
    apply_scene(w, "start");
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

void vw_wall_destroy(struct vw_wall *w)
{
    if (!w)
        return;
    if (w->rt) {
        for (int i = 0; i < w->cfg->source_count; i++) {
            vw_source_destroy(w->rt[i].src); /* sources first: they may still wake us */
            w->rt[i].src = NULL;
        }
    }
    vw_gl_keep_libraries_loaded(); /* also on a failed start */
    /* GL objects go while the context is current on a window that still exists (with one
     * window per display, the last drawn may be any of them), then the windows. */
    if (w->gl) {
        SDL_GL_MakeCurrent(w->gl_window, w->gl);
        if (w->rt)
            for (int i = 0; i < w->cfg->source_count; i++)
                vw_texture_destroy(w->rt[i].tex);
        for (int i = 0; i < w->output_count; i++)
            vw_target_destroy(w->outputs[i].target);
        vw_renderer_destroy(w->renderer);
        SDL_GL_MakeCurrent(NULL, NULL);
        SDL_GL_DeleteContext(w->gl);
    }
    for (int i = 0; i < w->output_count; i++) {
        if (w->outputs[i].win && w->outputs[i].win != w->gl_window)
            SDL_DestroyWindow(w->outputs[i].win);
        free(w->outputs[i].staging);
    }
    if (w->gl_window)
        SDL_DestroyWindow(w->gl_window);
    if (SDL_WasInit(SDL_INIT_VIDEO))
        SDL_QuitSubSystem(SDL_INIT_VIDEO);
    if (w->wake_fd >= 0)
        close(w->wake_fd);
    vw_scene_stack_finish(&w->stack);
    cJSON_Delete(w->events);
    free(w->outputs);
    free(w->rt);
    free(w->panel_on);
    free(w->assign);
    free(w->draw);
    free(w->changed);
    free(w->drawn);
    free(w->texts);
    free(w->in_scene);
    free(w->max_area);
    free(w->fresh_at);
    vw_config_destroy(w->cfg);
    free(w);
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

    double now = vw_now_s();
    if (vw_scene_stack_expire(&w->stack, now))
        apply_scene(w, "ttl");
    /* Each running source's stats, read once for this tick. */
    for (int i = 0; i < w->cfg->source_count; i++) {
        struct source_rt *rt = &w->rt[i];
        if (!rt->src)
            continue;
        vw_source_get_stats(rt->src, &rt->st);
        source_state_event(w, i, &rt->st);
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
    double exp = vw_scene_stack_next_expiry(&w->stack);
    if (exp > 0) {
        int64_t until = (int64_t)(exp * 1e6) - now;
        if (until < wait)
            wait = until;
    }
    if (w->outputs && w->outputs[0].win && wait > 50000)
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
int vw_wall_current_scene(const struct vw_wall *w)
{
    return w->shown_scene;
}
int vw_wall_base_scene(const struct vw_wall *w)
{
    return w->stack.base;
}

bool vw_wall_all_tiles_have_pictures(struct vw_wall *w)
{
    const struct vw_scene_cfg *sc = shown(w);
    for (int t = 0; t < sc->tile_count; t++)
        if (!w->rt[tile_source(w, t)].has_picture)
            return false;
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

bool vw_wall_reload(struct vw_wall *w, struct vw_errors *errs)
{
    struct vw_config *nc = vw_config_load(w->cfg->path, errs);
    if (!nc) {
        vw_warn("reload of %s refused (%d errors); the wall keeps running the old one",
                w->cfg->path, errs->count);
        return false;
    }
    if (nc->columns != w->cfg->columns || nc->rows != w->cfg->rows ||
        nc->screen_w != w->cfg->screen_w || nc->screen_h != w->cfg->screen_h) {
        vw_errors_add(errs, "%s: the panel grid or size changed; restart vwall to apply it",
                      nc->path);
        vw_config_destroy(nc);
        return false;
    }
    struct source_rt *nrt = calloc((size_t)(nc->source_count ? nc->source_count : 1), sizeof *nrt);
    if (!nrt)
        abort();
    /* Feeds that are unchanged keep decoding: their runtime moves to the new model. */
    int kept = 0;
    for (int i = 0; i < nc->source_count; i++) {
        int o = vw_config_find_source(w->cfg, nc->sources[i].id);
        if (o >= 0 && w->rt[o].src && same_feed(&w->cfg->sources[o], &nc->sources[i])) {
            nrt[i] = w->rt[o];
            memset(&w->rt[o], 0, sizeof w->rt[o]);
            kept++;
        }
    }
    for (int i = 0; i < w->cfg->source_count; i++)
        stop_source(w, &w->rt[i]);
    /* Scenes map by id. */
    int *remap = malloc(sizeof *remap * (size_t)w->cfg->scene_count);
    if (!remap)
        abort();
    for (int i = 0; i < w->cfg->scene_count; i++)
        remap[i] = vw_config_find_scene(nc, w->cfg->scenes[i].id);
    int old_base = w->stack.base;
    vw_scene_stack_remap(&w->stack, remap, w->cfg->scene_count);
    if (remap[old_base] < 0)
        w->stack.base = nc->default_scene;
    free(remap);

    const char *new_shown = NULL;
    bool new_labels = !same_str(nc->font, w->cfg->font) || nc->label_size != w->cfg->label_size;
    if (new_labels && !vw_renderer_set_labels(w->renderer, nc->font, nc->label_size))
        vw_warn("reload: can't start SDL_ttf for the new label font; labels keep the old one");
    free(w->rt);
    w->rt = nrt;
    vw_config_destroy(w->cfg);
    w->cfg = nc;
    w->geom = vw_geom_from_config(nc);
    size_scratch(w);
    /* Tile assignments end with the model they were made on. */
    free(w->assign);
    w->assign = NULL;
    apply_scene(w, "config.reload"); /* assign is NULL: tiles start afresh */
    new_shown = shown(w)->id;
    manage_sources(w, vw_now_s());
    w->dirty = true;
    vw_info("reloaded %s: %d sources (%d kept decoding), %d scenes, showing '%s'", nc->path,
            nc->source_count, kept, nc->scene_count, new_shown);
    cJSON *ev = new_event(w, "config.reloaded");
    if (ev) {
        cJSON_AddStringToObject(ev, "file", nc->path);
        cJSON_AddNumberToObject(ev, "sources", nc->source_count);
        cJSON_AddNumberToObject(ev, "scenes", nc->scene_count);
        emit(w, ev);
    }
    return true;
}

/* ---- screenshot ------------------------------------------------------------------------ */

uint8_t *vw_wall_snapshot(struct vw_wall *w, int *width, int *height, struct vw_errors *errs)
{
    return vw_wall_snapshot_scaled(w, 0, width, height, errs);
}

uint8_t *vw_wall_snapshot_scaled(struct vw_wall *w, int max_w, int *width, int *height,
                                 struct vw_errors *errs)
{
    int pw = vw_geom_physical_w(&w->geom), ph = vw_geom_physical_h(&w->geom);
    if (max_w > 0 && max_w < pw) { /* drawn small, not drawn big and shrunk */
        ph = (int)fmax(1, lround((double)ph * max_w / pw));
        pw = max_w;
    }
    SDL_GL_MakeCurrent(w->gl_window, w->gl);
    struct vw_target *t = vw_target_create(w->renderer, pw, ph, errs);
    if (!t)
        return NULL;
    uint8_t *rgba = malloc((size_t)pw * (size_t)ph * 4);
    if (!rgba) {
        vw_target_destroy(t);
        vw_errors_add(errs, "screenshot: out of memory for %dx%d", pw, ph);
        return NULL;
    }
    int n_fresh;
    take_frames(w, w->fresh_at, &n_fresh);
    build_draw_list(w, vw_now_us());
    /* The whole wall, whatever --screens renders. */
    int panels = w->geom.cols * w->geom.rows;
    bool *saved = w->panel_on, *all_on = malloc((size_t)panels * sizeof *all_on);
    if (!all_on)
        abort();
    for (int i = 0; i < panels; i++)
        all_on[i] = true;
    w->panel_on = all_on;
    struct output whole = {.panel_x = 0, .panel_y = 0, .cols = w->geom.cols, .rows = w->geom.rows};
    vw_target_bind(t);
    draw_output(w, &whole, pw, ph, w->draw, shown(w)->tile_count, true);
    vw_target_read(t, rgba);
    vw_target_bind(NULL);
    w->panel_on = saved;
    free(all_on);
    vw_target_destroy(t);
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

/* ---- JSON snapshots -------------------------------------------------------------------- */

cJSON *vw_wall_scenes_json(const struct vw_wall *w)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < w->cfg->scene_count; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", w->cfg->scenes[i].id);
        cJSON_AddStringToObject(o, "name", w->cfg->scenes[i].name);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

cJSON *vw_wall_sources_json(const struct vw_wall *w)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < w->cfg->source_count; i++) {
        const struct vw_source_cfg *sc = &w->cfg->sources[i];
        struct vw_source_stats st = {.state = VW_SOURCE_IDLE, .last_frame_age_ms = -1};
        if (w->rt[i].src)
            vw_source_get_stats(w->rt[i].src, &st);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", sc->id);
        cJSON_AddStringToObject(o, "name", sc->name);
        cJSON_AddStringToObject(o, "state", vw_source_state_name(st.state));
        cJSON_AddNumberToObject(o, "width", st.width);
        cJSON_AddNumberToObject(o, "height", st.height);
        cJSON_AddNumberToObject(o, "fps", round(st.fps * 10) / 10);
        cJSON_AddNumberToObject(o, "frames_decoded", (double)st.frames_decoded);
        cJSON_AddNumberToObject(o, "frames_shown", (double)st.frames_shown);
        cJSON_AddNumberToObject(o, "frames_late", (double)st.frames_late);
        cJSON_AddBoolToObject(o, "skip_nonref", w->rt[i].src && w->rt[i].skip_nonref);
        if (st.last_frame_age_ms >= 0)
            cJSON_AddNumberToObject(o, "last_frame_age_ms", (double)st.last_frame_age_ms);
        else
            cJSON_AddNullToObject(o, "last_frame_age_ms");
        cJSON_AddNumberToObject(o, "reconnects", st.reconnects);
        cJSON_AddNumberToObject(o, "backoff_ms", (double)st.backoff_ms);
        if (st.error[0])
            cJSON_AddStringToObject(o, "error", st.error);
        else
            cJSON_AddNullToObject(o, "error");
        cJSON_AddBoolToObject(o, "substream", st.substream);
        cJSON_AddBoolToObject(o, "hw", st.hw);
        cJSON_AddBoolToObject(o, "warm", sc->warm);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

cJSON *vw_wall_status_json(const struct vw_wall *w)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "scene", shown(w)->id);
    cJSON_AddStringToObject(o, "base_scene", w->cfg->scenes[w->stack.base].id);
    cJSON *stack = cJSON_AddArrayToObject(o, "stack");
    double now = vw_now_s();
    for (int i = 0; i < w->stack.count; i++) {
        const struct vw_scene_entry *e = &w->stack.entries[i];
        cJSON *it = cJSON_CreateObject();
        cJSON_AddStringToObject(it, "scene", w->cfg->scenes[e->scene].id);
        cJSON_AddNumberToObject(it, "priority", e->priority);
        if (e->expires_at > 0)
            cJSON_AddNumberToObject(it, "ttl_left", round((e->expires_at - now) * 10) / 10);
        else
            cJSON_AddNullToObject(it, "ttl_left");
        cJSON_AddItemToArray(stack, it);
    }
    cJSON_AddNumberToObject(o, "uptime_s", round((double)(vw_now_us() - w->started_us) / 1e5) / 10);
    cJSON_AddNumberToObject(o, "render_fps", round(w->render_fps * 10) / 10);
    cJSON_AddNumberToObject(o, "frames_rendered", (double)w->frames_rendered);
    /* the render thread alone (composition, uploads, GL); decoding runs in other threads */
    cJSON_AddNumberToObject(o, "render_cpu_s",
                            round((thread_cpu_s() - w->render_cpu_at_start) * 1000) / 1000);
    cJSON_AddNumberToObject(o, "frames_uploaded", (double)w->frames_uploaded);
    uint64_t dropped = w->dropped_retired;
    for (int i = 0; i < w->cfg->source_count; i++) {
        if (!w->rt[i].src)
            continue;
        struct vw_source_stats st;
        vw_source_get_stats(w->rt[i].src, &st);
        dropped += frames_dropped(&st, w->rt[i].hidden, 1); /* the newest may be pending */
    }
    cJSON_AddNumberToObject(o, "frames_dropped", (double)dropped);
    cJSON_AddBoolToObject(o, "overloaded", w->overload_until > vw_now_s());
    int panels = 0;
    for (int i = 0; i < w->geom.cols * w->geom.rows; i++)
        panels += w->panel_on[i];
    cJSON_AddNumberToObject(o, "screens", panels);
    cJSON_AddNumberToObject(o, "outputs", w->output_count);
    cJSON_AddStringToObject(o, "compose", vw_compose_name(vw_renderer_compose(w->renderer)));
    cJSON_AddStringToObject(o, "gl_renderer", vw_renderer_gl_name(w->renderer));
    if (w->last_switch_ms >= 0)
        cJSON_AddNumberToObject(o, "switch_ms", w->last_switch_ms);
    else
        cJSON_AddNullToObject(o, "switch_ms");
    if (w->latency_count > 0) {
        int64_t sorted[LATENCY_SAMPLES];
        memcpy(sorted, w->latency_us, sizeof sorted[0] * (size_t)w->latency_count);
        qsort(sorted, (size_t)w->latency_count, sizeof sorted[0], cmp_i64);
        cJSON_AddNumberToObject(o, "latency_p50_ms", sorted[w->latency_count / 2] / 100 / 10.0);
        cJSON_AddNumberToObject(o, "latency_p99_ms",
                                sorted[(w->latency_count * 99) / 100] / 100 / 10.0);
    } else {
        cJSON_AddNullToObject(o, "latency_p50_ms");
        cJSON_AddNullToObject(o, "latency_p99_ms");
    }
    return o;
}
