/* The running wall's insides, shared by the files of src/wall/ and nobody else:
 *   wall.c    life cycle, the loop (tick), sources, drawing, reload, screenshots
 *   scenes.c  what shows: commands → transitions of the store, the resolved view, events
 *   report.c  JSON snapshots for the control socket (status, sources, scenes, tiles)
 * Main thread only. */
#ifndef VW_WALL_INTERNAL_H
#define VW_WALL_INTERNAL_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>

#include "feeds/source.h"
#include "model/geometry.h"
#include "cluster/cluster.h"
#include "state/store.h"
#include "wall/wall.h"

#define LATENCY_SAMPLES 1024

/* A source's life on the wall while a tile shows it, it is warm, or it lingers: the decoder
 * and its texture. Sources that are none of these have no runtime at all (a catalog of
 * thousands costs a pointer each). */
struct source_rt {
    int index;             /* in the wall's source table (vw_wall_source_cfg) */
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
    uint64_t catchups_seen;    /* catchups at the last overload check */
    int64_t picture_at_us;     /* when the texture's frame was decoded */
    int64_t capture_us;        /* when it was captured (sender's realtime µs); 0: unknown */
    bool in_scene;             /* a tile of the scene showing shows it (this tick) */
    bool spans;                /* such a tile spans this node's panels and another's */
    bool upcoming;             /* a cluster's next value shows it (started during lead_ms) */
    int64_t upcoming_since_ms; /* that value's scene start: its files' epoch */
    int playout_ms;            /* asked of the source (vw_source_set_playout) */
    int64_t epoch_us;          /* asked of the source (vw_source_set_epoch) */
    double max_area;           /* the largest such tile, canvas pixels */
};

/* An ad-hoc camera (tile.assign with a URL): a source of the wall's own, after the wall
 * file's. Its slot is reused once nothing shows or names it. */
struct adhoc {
    struct vw_source_cfg cfg;
    bool used;
};

/* What a tile showed at the last redraw: a redraw of it is needed when any of it changes. */
struct drawn {
    uint64_t serial; /* its source's upload count, 0 for the slate */
    char badge[64];
    char detail[160];
};

/* A command waiting for the cluster to commit its change (vw_wall_when_committed). */
struct commit_wait {
    uint64_t ticket;
    vw_commit_done_fn done;
    void (*cancel)(void *ud);
    void *ud;
};

struct vw_wall {
    struct vw_config *cfg;
    struct vw_geom geom;
    struct vw_wall_options opt;
    struct vw_outputs *outputs;
    struct vw_renderer *renderer;

    /* sources: the wall file's (0 .. cfg->source_count-1), then the ad-hoc ones */
    struct adhoc *adhoc;
    int adhoc_count;
    struct source_rt **rt_of; /* per source: its runtime, or NULL */
    int rt_of_cap;
    struct source_rt **active; /* every runtime */
    int active_count, active_cap;
    int *warm; /* indices of the wall file's warm sources */
    int warm_count;
    struct vw_frame_log *frame_log; /* --frame-log, or NULL */

    /* what shows: the store's state, resolved against the model */
    struct vw_store *store;
    struct vw_cluster *cluster; /* --node: the store is shared over NATS through it */
    uint64_t last_ticket;       /* the proposal the last command made (cluster), 0: none */
    struct commit_wait *waits;  /* commands waiting for their proposal's answer */
    bool mismatch_reported;     /* cluster: our wall file differs from the cluster's */
    bool frame_waiting;         /* a held frame waits for a later redraw (take_frames) */
    uint64_t mismatch_mask;     /* cluster: nodes known to differ (bit k: cluster.nodes[k]) */
    int wait_count, wait_cap;
    struct vw_scene_cfg *saved_scenes; /* the state's saved scenes, as scenes of the model */
    int saved_scene_count;
    bool saved_hidden_told; /* hidden saved scenes were logged for this wall file */
    int showing;            /* scene table index (vw_wall_scene_at) of the scene showing */
    int *tile_src;          /* per tile of it: the source shown */
    int tile_cap;
    bool resolved; /* showing/tile_src are valid */

    int wake_fd;
    double overload_until;   /* decoders fell behind: shed load in small tiles until then */
    double overload_since;   /* when the current overload began */
    double substreams_until; /* sustained overload: small tiles take substreams until then */
    double next_load_check;
    bool overloaded_reported; /* the last wall.overloaded event said true */
    const char *overload_reason;
    double render_busy_s; /* time spent drawing in the current second */
    double render_load;   /* fraction of the last second spent drawing */
    bool dirty;           /* something to draw */
    bool quit;
    int64_t next_render_us;
    int64_t started_us;

    /* a reload parsing on its worker thread */
    pthread_t reload_thread;
    bool reloading;
    atomic_bool reload_parsed;
    struct vw_config *reload_cfg;
    struct vw_errors reload_errs;
    vw_reload_done_fn reload_done;
    void *reload_ud;
    cJSON *reload_nodes; /* cluster: each node's answer to the last reload */
    struct {             /* cluster: the whole wall's live picture (vw_wall_cluster_picture) */
        uint8_t *rgba;   /* the last one assembled, or NULL */
        int w, h, max_w; /* its size, and the width it was asked at */
        int64_t at_us;   /* when it was assembled */
        void *pending;   /* the ask for the next one, on its way (freed here at the end) */
    } picture;

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
    int64_t *fresh_at;     /* scratch: decode times of the frames taken this redraw */
    int fresh_cap;
    int take_budget;    /* new frames a redraw may take (see take_frames) */
    int take_next;      /* position in `active` where the next redraw starts taking */
    bool take_deferred; /* since the last load check, a redraw left new frames waiting */
};

/* ---- wall.c ---- */
int vw_wall_source_count(const struct vw_wall *w); /* the wall file's plus ad-hoc slots */
const struct vw_source_cfg *vw_wall_source_cfg(const struct vw_wall *w, int i);
bool vw_wall_source_is_adhoc(const struct vw_wall *w, int i);
int vw_wall_find_source(const struct vw_wall *w, const char *id); /* -1: none */
/* The ad-hoc source for url (made when new); -1 when out of memory. */
int vw_wall_adhoc_source(struct vw_wall *w, const char *url, const char *name);
struct source_rt *vw_wall_rt(const struct vw_wall *w, int i); /* NULL: none */
/* A source's stats now (idle when it has no decoder). */
void vw_wall_source_stats(const struct vw_wall *w, int i, struct vw_source_stats *st);
uint64_t vw_wall_frames_dropped(const struct vw_wall *w);
/* The pct-th percentile of decode → present latency over the last samples, ms; -1: none. */
double vw_wall_latency_ms(const struct vw_wall *w, int pct);
double vw_wall_thread_cpu_s(void);

/* ---- scenes.c ---- */
int vw_wall_scene_count(const struct vw_wall *w); /* the wall file's, then the saved ones */
const struct vw_scene_cfg *vw_wall_scene_at(const struct vw_wall *w, int k);
int vw_wall_find_scene(const struct vw_wall *w, const char *id); /* -1: none */
const struct vw_scene_cfg *vw_wall_shown(const struct vw_wall *w);
/* The source tile t of the scene showing shows (after picks). */
int vw_wall_tile_source(const struct vw_wall *w, int t);
/* Rebuilds the saved scenes' model and the view of the scene showing from the store (after
 * any change of the state or the model); `by` names the cause for the log and the event. */
void vw_wall_resolve(struct vw_wall *w, const char *by, bool announce);
/* Cluster: the store adopted a value another node (or this one) committed; `prev` is the value
 * before. Resolves, and tells the consoles what changed, as every node does alike. */
void vw_wall_adopted(struct vw_wall *w, const struct vw_state *prev);
/* vw_wall_snapshot_scaled with `over` drawn on top (slates of what is missing, say). */
/* The size of the whole wall's picture drawn at most max_w pixels wide (0: full size): the
 * one rule vw_wall_snapshot_over draws by, so every node of a cluster works it out alike. */
void vw_wall_picture_size(const struct vw_wall *w, int max_w, int *pw, int *ph);
uint8_t *vw_wall_snapshot_over(struct vw_wall *w, int max_w, const struct vw_draw_tile *over,
                               int n_over, int *width, int *height, struct vw_errors *errs);
/* Cluster (wall/cluster_views.c): answers what another node asks of us (its panels' pixels,
 * a reload); the origin's side of a reload: asks every other node, then calls done. */
void vw_wall_answer_ask(struct vw_wall *w, struct vw_cluster_ask *a);
void vw_wall_reload_others(struct vw_wall *w, bool ok, const struct vw_errors *errs,
                           vw_reload_done_fn done, void *ud);
bool vw_wall_answering_reload(vw_reload_done_fn done);
/* The sentence for an error code of a proposal. */
const char *vw_wall_commit_message(const char *code);
void vw_wall_free_saved_scenes(struct vw_wall *w);
/* Frees the ad-hoc cameras that nothing names any more (no pick, no saved scene) and that
 * have no decoder (one with a decoder goes when its linger ends): after a saved scene that
 * was the last to name one is deleted, or a pick of one that never showed is reset. */
void vw_wall_forget_unnamed_adhoc(struct vw_wall *w);
void vw_wall_emit(struct vw_wall *w, cJSON *ev);
cJSON *vw_wall_new_event(struct vw_wall *w, const char *name); /* NULL: nobody takes events */

#endif
