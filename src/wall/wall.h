/* wall: the running wall — the wall file's model, the scene now showing, the sources that
 * decode, the outputs and the renderer. Main thread only (it owns the GL context).
 *
 * main.c runs the loop:
 *     while (vw_wall_tick(w)) { ...serve the control socket until vw_wall_wait_ms(w)... }
 * Control commands call the functions below; what changes is reported back as events
 * (vw_wall_take_event), which the control server sends to subscribed clients. */
#ifndef VW_WALL_H
#define VW_WALL_H

#include <stdbool.h>
#include <stdint.h>

#include "model/config.h"
#include "base/errors.h"
#include "render/renderer.h"

struct cJSON;
struct vw_wall;

enum vw_output_mode {
    VW_OUTPUT_CONFIG,     /* what the wall file says (default "window") */
    VW_OUTPUT_WINDOW,     /* one resizable window, wall scaled to fit */
    VW_OUTPUT_FULLSCREEN, /* one borderless window over the whole desktop */
    VW_OUTPUT_DISPLAYS,   /* one fullscreen window per display, panels mapped in the wall file */
    VW_OUTPUT_OFFSCREEN,  /* no window shown (SDL offscreen driver): screenshots, tests, benches */
};

struct vw_wall_options {
    const char *scene;   /* starting scene id, NULL: default */
    const char *screens; /* "0-8,12": panels to render, NULL: all */
    enum vw_output_mode output;
    const char *shader_dir; /* NULL: built-in default */
    double max_fps;         /* render at most this often (default 60) */
    bool no_connect;        /* layout preview: open no source, every tile shows its slate */
    bool vsync;
    enum vw_compose compose; /* who scales the pictures (default auto) */
    bool present_gl;         /* windows always through a GL copy and swap (--present gl) */
};

/* Takes ownership of cfg. NULL with reasons in errs (no display, GL too old, shaders). */
struct vw_wall *vw_wall_create(struct vw_config *cfg, const struct vw_wall_options *opt,
                               struct vw_errors *errs);
void vw_wall_destroy(struct vw_wall *w); /* NULL ok */

/* One turn of the loop: SDL events, scene expiry, new frames, redraw when something changed.
 * false when the user closed the wall (window closed, Esc/q in a window). */
bool vw_wall_tick(struct vw_wall *w);
/* How long the caller may sleep before the next tick (ms, >= 0). */
int vw_wall_wait_ms(const struct vw_wall *w);
/* A file descriptor that becomes readable when a source posts a frame or changes state;
 * poll it together with the control sockets. */
int vw_wall_wake_fd(const struct vw_wall *w);

/* Whether events are built for vw_wall_take_event (default on). Off: none is built, and
 * pending ones are dropped; a wall with no control socket turns them off so that they do
 * not pile up. */
void vw_wall_set_events(struct vw_wall *w, bool on);

const struct vw_config *vw_wall_config(const struct vw_wall *w);
int vw_wall_current_scene(const struct vw_wall *w); /* index into config scenes */
int vw_wall_base_scene(const struct vw_wall *w);

/* `by` names who asked (client peer, "alarm-server", …); it goes into the event. */
bool vw_wall_switch(struct vw_wall *w, const char *scene_id, const char *by); /* false: unknown */
bool vw_wall_push(struct vw_wall *w, const char *scene_id, int priority, double ttl,
                  const char *by);
bool vw_wall_pop(struct vw_wall *w, const char *scene_id, const char *by); /* false: not pushed */

enum vw_assign_result { VW_ASSIGN_OK, VW_ASSIGN_BAD_TILE, VW_ASSIGN_UNKNOWN_SOURCE };
/* Tile by index (tile_id NULL) or by id, of the scene showing, until that scene is left. */
enum vw_assign_result vw_wall_assign(struct vw_wall *w, int tile_index, const char *tile_id,
                                     const char *source_id, const char *by);

/* Reloads the wall file. With errors the wall keeps the old one and errs lists them all.
 * Sources whose id and url are unchanged keep decoding without a gap. */
bool vw_wall_reload(struct vw_wall *w, struct vw_errors *errs);

/* Renders the whole wall (all panels, bezels removed) as RGBA rows, top row first, and
 * returns them (caller frees) with their size; NULL with the reason in errs. */
uint8_t *vw_wall_snapshot(struct vw_wall *w, int *width, int *height, struct vw_errors *errs);
/* The same drawn at most `max_w` pixels wide, the aspect kept (0: full size): the console's
 * live picture, which costs a small fraction of a full-size drawing on a big wall. */
uint8_t *vw_wall_snapshot_scaled(struct vw_wall *w, int max_w, int *width, int *height,
                                 struct vw_errors *errs);
/* Renders the whole wall (all panels, bezels removed) to a PNG at `path`. */
bool vw_wall_screenshot(struct vw_wall *w, const char *path, struct vw_errors *errs);
/* True when every tile of the scene showing has shown a frame (for --screenshot). */
bool vw_wall_all_tiles_have_pictures(struct vw_wall *w);

/* JSON snapshots for the control socket (caller owns the result). */
struct cJSON *vw_wall_scenes_json(const struct vw_wall *w);  /* [{"id","name"},…] */
struct cJSON *vw_wall_sources_json(const struct vw_wall *w); /* [{"id","name","state",…},…] */
struct cJSON *vw_wall_status_json(const struct vw_wall *w); /* {"scene","base_scene","stack",…} */

/* Next pending event ({"event": "scene.changed", …}), caller owns it; NULL when none. */
struct cJSON *vw_wall_take_event(struct vw_wall *w);

#endif
