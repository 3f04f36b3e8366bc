/* config: the wall file (libconfig) → a validated, immutable model of the wall.
 *
 * The model is plain data: every other module reads it, none changes it. A reload
 * builds a new model and swaps it in only when it has no errors.
 *
 * Sources come from the wall file's `sources` list, from @include'd files and from CSV
 * catalogs (`catalog = ["cameras.csv"];`, model/catalog.h), in that order. Every file read
 * is checked first: a regular file (opened without blocking; a FIFO is refused, never
 * waited on), at most 64 MiB, UTF-8 (a BOM is skipped). */
#ifndef VW_CONFIG_H
#define VW_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "base/errors.h"

enum vw_fit { VW_FIT_FIT, VW_FIT_FILL, VW_FIT_STRETCH };

/* A rectangle in panel units: [0,0,1,1] is the top-left panel. */
struct vw_rect {
    double x, y, w, h;
};

enum vw_hwaccel { VW_HWACCEL_NONE, VW_HWACCEL_AUTO, VW_HWACCEL_VAAPI, VW_HWACCEL_CUDA };

struct vw_source_cfg {
    char *id;             /* unique, non-empty */
    char *name;           /* display name, UTF-8; defaults to id */
    char *url;            /* FFmpeg URL or file path; a relative file path is already resolved
                             against the wall file's folder */
    char *substream;      /* optional lower-resolution URL (resolved like url), or NULL */
    bool loop;            /* files: start again at the end (default false) */
    bool warm;            /* keep decoding even when no scene on screen shows it (default false) */
    double stall_timeout; /* seconds without a new frame before "stalled" (default 3) */
    double linger;        /* seconds a source keeps decoding after leaving the scene (default 10) */
    enum vw_hwaccel hwaccel; /* default: the wall's hwaccel, itself default none */
    double substream_ratio;  /* use the substream when the main stream has at least this many
                                times the tile's pixels (default: the wall's, itself 4) */
    char *transport;         /* rtsp: "tcp" (default) or "udp" */
    char *group;             /* where consoles file it, names separated by '/' ("乡镇/王口镇"),
                                none empty; NULL when none */
    int line;                /* line of the source's group in the file that defines it (the
                                wall file, an @include'd file, or the catalog row's line) */
};

struct vw_tile_cfg {
    char *id;            /* optional tile id (for tile.assign), or NULL */
    int source;          /* index into vw_config.sources */
    struct vw_rect rect; /* panel units; `cell`/`span` shorthand is already resolved */
    enum vw_fit fit;     /* default VW_FIT_FIT */
    bool label;          /* show the source name; default: the wall's `labels` */
    int line;
};

struct vw_scene_cfg {
    char *id;
    char *name; /* defaults to id */
    bool is_default;
    struct vw_tile_cfg *tiles;
    int tile_count;
    int line;
};

/* One OS display (output) of a wall spread over several displays: which panels it shows. */
struct vw_display_cfg {
    int display;          /* SDL display index */
    int panel_x, panel_y; /* top-left panel shown on it */
    int columns, rows;    /* panels across and down on it */
};

/* What a control seat may do: view (read-only commands, subscribe), operate (scenes, tiles,
 * screenshots), admin (all, reload too). */
enum vw_role { VW_ROLE_VIEW, VW_ROLE_OPERATE, VW_ROLE_ADMIN };

/* control.seats: one console seat, its secret and its role. Names and tokens are non-empty
 * and unique; no token equals control.token. */
struct vw_seat_cfg {
    char *name;
    char *token;
    enum vw_role role;
    int line;
};

struct vw_control_cfg {
    char **listen; /* "unix:PATH" or "tcp:HOST:PORT" endpoints; may be empty */
    int listen_count;
    char *token;               /* required of TCP clients when set, else NULL */
    char *screenshot_dir;      /* resolved against the wall file's folder; NULL disables */
    char *socket_group;        /* group for the Unix socket, or NULL */
    struct vw_seat_cfg *seats; /* control.seats, in file order; NULL when none */
    int seat_count;
    char *http;      /* the browser console's "HOST:PORT", or NULL: off */
    char *http_cert; /* TLS certificate and key (PEM) for it, or NULL: plain HTTP */
    char *http_key;
    /* socket_group's id once looked up (vw_config_group_id) by whoever loaded the file off
     * the main thread (a reload's worker), so the main thread never waits on NSS. */
    bool socket_gid_known;
    long socket_gid;
};

/* cluster.nodes: one machine of a wall driven by several (docs/cluster.md). */
struct vw_node_cfg {
    char *id;     /* unique; letters, digits, '-' and '_' */
    char *panels; /* "0-5": the panels it renders, as written (checked; no panel on two nodes) */
    int line;
};

/* cluster: the wall's state is shared through a NATS JetStream key-value bucket; absent (the
 * default) for a wall on one machine. */
struct vw_cluster_cfg {
    bool enabled;
    char **nats; /* server URLs, "nats://HOST:PORT" or "tls://HOST:PORT" */
    int nats_count;
    char *name;     /* bucket and subject prefix: letters, digits, '-' and '_' */
    int lead_ms;    /* a change shows this long after it is committed (default 120) */
    int playout_ms; /* frame sync delay for tiles that span nodes (default 200) */
    struct vw_node_cfg *nodes;
    int node_count;
    char *user, *password;  /* credentials: user/password, a token, an nkey seed file or a */
    char *token;            /* .creds file (JWT + seed); at most one kind */
    char *nkey, *nkey_seed; /* nkey: the user's public key ("U..."), with its seed file */
    char *creds;
    char *tls_ca, *tls_cert, *tls_key; /* TLS: CA to trust, client certificate and key */
};

struct vw_strmap;

struct vw_config {
    char *path; /* the wall file as given */
    char *dir;  /* its folder, for resolving relative paths */

    /* wall */
    char *name;
    int screen_w, screen_h; /* one panel, pixels: 16..16384 */
    int columns, rows;      /* 1..64 panels in all */
    int bezel_x, bezel_y;   /* hidden pixels between panels, >= 0 (default 0) */
    bool labels;            /* default true */
    char *font;             /* font file for labels, or NULL: found through fontconfig */
    int label_size;         /* label text height in pixels (default: screen_h / 30, min 12) */
    enum vw_hwaccel hwaccel;
    double substream_ratio;          /* default for sources: 4 */
    char *output;                    /* "window" (default), "fullscreen" or "displays" */
    struct vw_display_cfg *displays; /* for output = "displays" */
    int display_count;
    char *state_dir; /* wall.state_dir resolved against the wall file's folder, or NULL */

    struct vw_source_cfg *sources;
    int source_count;
    struct vw_scene_cfg *scenes; /* at least one */
    int scene_count;
    int default_scene; /* the one marked default, else 0 */

    char **catalogs; /* the `catalog` files, resolved against the wall file's folder */
    int catalog_count;

    struct vw_control_cfg control;
    struct vw_cluster_cfg cluster;

    /* 64-bit FNV-1a, 16 lower-case hex digits, over the bytes of every file read (wall file,
     * includes, catalogs, as they are on disk): tells whether a state file or another
     * machine was made for the same wall file. */
    char hash[17];

    /* id → index, for vw_config_find_source / _scene; NULL in a model built by hand */
    struct vw_strmap *source_index;
    struct vw_strmap *scene_index;
};

/* Reads and validates `path`. On success returns the model (caller owns it; free with
 * vw_config_destroy). On failure returns NULL and adds every problem found to `errs`,
 * each as "path:line: message" (the file at fault: the wall file, an @include'd file or a
 * catalog; the line of the innermost setting at fault), in file order.
 *
 * Thread-safe: it keeps no global or static mutable state and calls nothing that does, so
 * it may run on a worker thread (a reload) while other threads use other models. It never
 * blocks on anything outside the process (no FIFO, no device), and reads no file it did
 * not check first. */
struct vw_config *vw_config_load(const char *path, struct vw_errors *errs);
void vw_config_destroy(struct vw_config *cfg); /* NULL ok */

/* Index of the source / scene with this id, or -1. O(1): hashed through an index built at
 * load (a model built by hand, without one, is searched). Any thread, on a model no one
 * changes. */
int vw_config_find_source(const struct vw_config *cfg, const char *id);
int vw_config_find_scene(const struct vw_config *cfg, const char *id);
/* Index of the cluster node with this id, or -1. */
int vw_config_find_node(const struct vw_config *cfg, const char *id);

/* The id of group `group` (a number is taken as is; a name is looked up through NSS, which
 * may wait on a directory server: not on the main thread of a running wall). false when
 * there is no such group. Thread-safe. */
bool vw_config_group_id(const char *group, long *gid);

#endif
