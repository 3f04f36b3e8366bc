/* wall: the running wall — the wall file's model, what shows (state/store.h), the sources that
 * decode, the outputs (wall/outputs.h) and the renderer. Main thread only (it owns the GL
 * context).
 *
 * main.c runs the loop:
 *     while (vw_wall_tick(w)) { ...serve the control socket until vw_wall_wait_ms(w)... }
 * Control commands call the functions below. A command changes the state and marks the wall
 * dirty; it never draws: whatever many commands changed is drawn once, in the next frame. What
 * changes is reported back as events (vw_wall_take_event), which the control server sends to
 * subscribed clients. */
#ifndef VW_WALL_H
#define VW_WALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/errors.h"
#include "model/config.h"
#include "render/renderer.h"
#include "wall/outputs.h"

struct cJSON;
struct vw_wall;

struct vw_wall_options {
    const char *scene;   /* starting scene id, NULL: default (or what the state file restores) */
    const char *screens; /* "0-8,12": panels to render, NULL: all */
    enum vw_output_mode output;
    const char *shader_dir; /* NULL: built-in default */
    double max_fps;         /* render at most this often (default 60) */
    bool no_connect;        /* layout preview: open no source, every tile shows its slate */
    bool vsync;
    enum vw_compose compose; /* who scales the pictures (default auto) */
    bool present_gl;         /* windows always through a GL copy and swap (--present gl) */
    const char *state_file;  /* the scene state's file; NULL: the default for the wall file
                                (vw_wall_default_state_file); "" : none */
    const char *node;        /* --node: this machine's node id of cfg->cluster (its panels are
                                rendered, the state is shared over NATS); NULL: one box */
    const char *frame_log;   /* --frame-log: CSV of every tile drawn, or NULL */
};

/* Takes ownership of cfg. NULL with reasons in errs (no display, GL too old, shaders). */
struct vw_wall *vw_wall_create(struct vw_config *cfg, const struct vw_wall_options *opt,
                               struct vw_errors *errs);
void vw_wall_destroy(struct vw_wall *w); /* NULL ok; the state file is written first */

/* Where the state of the wall file `cfg` is kept when nothing else is said: in
 * cfg->state_dir, else $STATE_DIRECTORY (systemd's StateDirectory=), else
 * $XDG_STATE_HOME/vwall, else ~/.local/state/vwall, else /var/lib/vwall; the file is named
 * after the wall file (district.cfg: district.state.json). Writes into buf. */
void vw_wall_default_state_file(const struct vw_config *cfg, char *buf, size_t cap);

/* One turn of the loop: SDL events, scene expiry, finished reloads, new frames, redraw when
 * something changed and a frame is due. false when the user closed the wall (window closed,
 * Esc/q in a window). */
bool vw_wall_tick(struct vw_wall *w);
/* How long the caller may sleep before the next tick (ms, >= 0). */
int vw_wall_wait_ms(const struct vw_wall *w);
/* A file descriptor that becomes readable when a source posts a frame or changes state, or a
 * reload finished parsing; poll it together with the control sockets. */
int vw_wall_wake_fd(const struct vw_wall *w);

/* Whether events are built for vw_wall_take_event (default on). Off: none is built, and
 * pending ones are dropped; a wall with no control socket turns them off so that they do
 * not pile up. */
void vw_wall_set_events(struct vw_wall *w, bool on);

const struct vw_config *vw_wall_config(const struct vw_wall *w);
uint64_t vw_wall_revision(const struct vw_wall *w);
const char *vw_wall_showing(const struct vw_wall *w); /* id of the scene showing */
const char *vw_wall_base(const struct vw_wall *w);    /* id of the base scene */
/* Whether a scene with this id exists (in the wall file or saved). */
bool vw_wall_has_scene(const struct vw_wall *w, const char *id);

/* The result of a command: `code` NULL on success, else an error code of the control
 * protocol with a sentence for a person. */
struct vw_wall_error {
    const char *code;
    char message[256];
};

/* Cluster (--node): a state-changing command proposes its change, and the change is made
 * when the cluster commits it. vw_wall_take_ticket returns the proposal the last command made
 * (0: none; the change is done, as on one box); vw_wall_when_committed calls done(ud, ...)
 * from a later tick with the answer: error NULL (revision; at_ms, when it shows; the scene it
 * shows then and its base) or an error code with a sentence. cancel(ud) instead when the wall
 * stops first. */
typedef void (*vw_commit_done_fn)(void *ud, const char *error, const char *message,
                                  uint64_t revision, int64_t at_ms, const char *showing,
                                  const char *base);
uint64_t vw_wall_take_ticket(struct vw_wall *w);
void vw_wall_when_committed(struct vw_wall *w, uint64_t ticket, vw_commit_done_fn done,
                            void (*cancel)(void *ud), void *ud);
/* The node id (--node), or NULL on one box. */
const char *vw_wall_node(const struct vw_wall *w);

/* A tile of the scene showing: by index (id NULL), by id, or every tile (all). */
struct vw_tile_ref {
    int index;
    const char *id;
    bool all;
};

/* The state-changing commands. `by` names who asked (a seat, a client peer); it goes into
 * the event and the state. Each returns true, or false with *e filled. */
bool vw_wall_switch(struct vw_wall *w, const char *scene, const char *by, struct vw_wall_error *e);
bool vw_wall_push(struct vw_wall *w, const char *scene, int priority, double ttl_s, const char *by,
                  struct vw_wall_error *e);
bool vw_wall_pop(struct vw_wall *w, const char *scene, const char *by, struct vw_wall_error *e);
bool vw_wall_clear(struct vw_wall *w, const char *by, struct vw_wall_error *e);
/* A source of the wall file, or an ad-hoc camera by url (source NULL; name optional). */
bool vw_wall_assign(struct vw_wall *w, struct vw_tile_ref tile, const char *source, const char *url,
                    const char *name, const char *by, struct vw_wall_error *e);
bool vw_wall_swap(struct vw_wall *w, struct vw_tile_ref a, struct vw_tile_ref b, const char *by,
                  struct vw_wall_error *e);
bool vw_wall_reset(struct vw_wall *w, struct vw_tile_ref tile, const char *by,
                   struct vw_wall_error *e);
bool vw_wall_save(struct vw_wall *w, const char *scene, const char *name, const char *by,
                  struct vw_wall_error *e);
bool vw_wall_delete(struct vw_wall *w, const char *scene, const char *by, struct vw_wall_error *e);
/* Restarts a source's feed now (make-before-break); one not decoding starts when shown. */
bool vw_wall_reconnect(struct vw_wall *w, const char *source, const char *by,
                       struct vw_wall_error *e);

/* Starts reloading the wall file: it is read and checked on a worker thread, and swapped in
 * between two frames by a later tick. `done` is called from that tick with the errors (none:
 * applied); `ud` is passed back. false with *e filled when a reload is already running. */
typedef void (*vw_reload_done_fn)(void *ud, bool ok, const struct vw_errors *errs);
bool vw_wall_reload_start(struct vw_wall *w, vw_reload_done_fn done, void *ud,
                          struct vw_wall_error *e);
/* Reloads at once on this thread (tests, tools): true, or false with every error in errs. */
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
/* Cluster: the whole wall from every node's panels, written to path; done(ud, ok, errs,
 * missing) from a later tick, `missing` the nodes that sent nothing in time (their panels
 * are a slate). false when it cannot start (then nothing is called). One box: use
 * vw_wall_screenshot. */
typedef void (*vw_shot_done_fn)(void *ud, bool ok, const struct vw_errors *errs,
                                const struct cJSON *missing);
bool vw_wall_screenshot_cluster(struct vw_wall *w, const char *path, vw_shot_done_fn done,
                                void *ud);
/* Cluster: the whole wall from every node's panels, drawn at most max_w pixels wide (0: full
 * size), for a live view (the console's /wall.jpg): a copy of the last one assembled (caller
 * frees) with its size, or NULL when there is none yet or this is not a cluster node. When
 * that one is older than max_age_us or was drawn at another width, the other nodes are asked
 * for the next (answers come in a later tick; a silent node's panels are a slate): a view
 * polled at a steady rate is one round behind. */
uint8_t *vw_wall_cluster_picture(struct vw_wall *w, int max_w, int64_t max_age_us, int *width,
                                 int *height);
/* Cluster: what each node said of the last reload ([{id, ok, errors}], caller owns it), or
 * NULL on one box. */
struct cJSON *vw_wall_take_reload_nodes(struct vw_wall *w);
/* True when every tile of the scene showing has shown a frame (for --screenshot). */
bool vw_wall_all_tiles_have_pictures(struct vw_wall *w);
/* True when every tile has a picture or its source is offline (nothing more to wait for);
 * the ids of offline sources are logged by the caller from vw_wall_sources_json. */
bool vw_wall_all_tiles_settled(struct vw_wall *w);

/* Which sources source.list returns. */
struct vw_source_query {
    const char *query; /* case-insensitive substring of id, name or group; NULL: any */
    unsigned states;   /* bit (1 << enum vw_source_state) per state wanted; 0: any */
    const char *group; /* group prefix; NULL: any */
    bool adhoc_only;   /* only ad-hoc cameras */
    int offset, limit; /* paging; limit < 0: all */
};

/* JSON snapshots for the control socket (caller owns the result). */
struct cJSON *vw_wall_scenes_json(const struct vw_wall *w);
/* The sources matching q (NULL: all), in wall-file order (ad-hoc last); *total counts the
 * matches before paging. */
struct cJSON *vw_wall_sources_json(const struct vw_wall *w, const struct vw_source_query *q,
                                   int *total);
struct cJSON *vw_wall_tiles_json(const struct vw_wall *w);  /* the tiles of the scene showing */
struct cJSON *vw_wall_status_json(const struct vw_wall *w); /* {"scene","base_scene","stack",…} */

/* Next pending event ({"event": "scene.changed", …}), caller owns it; NULL when none. */
struct cJSON *vw_wall_take_event(struct vw_wall *w);

/* Cheap reads for the service manager's notifications, every tick (main thread):
 * frames drawn since the start; whether something waits to be drawn (new frames, ages
 * counting); the distinct sources the scene showing shows (after tile assignments) and how
 * many of them are live, as of the last tick. */
uint64_t vw_wall_frames_rendered(const struct vw_wall *w);
bool vw_wall_wants_redraw(const struct vw_wall *w);
void vw_wall_live_sources(const struct vw_wall *w, int *live, int *total);

#endif
