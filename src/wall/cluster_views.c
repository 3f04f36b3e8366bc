/* cluster_views: the whole wall seen from any node of a cluster — a screenshot assembled from
 * every node's panels, and a reload made on every node with each node's errors. The other
 * nodes are asked over NATS (cluster/cluster.h: vw_cluster_ask_others); their answers come
 * back in a later tick. Main thread only. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "render/png.h"
#include "wall/internal.h"

#define SHOT_TIMEOUT_MS 5000
#define PICTURE_TIMEOUT_MS 1000 /* a live view: a silent node is a slate after this */
#define RELOAD_TIMEOUT_MS 15000

/* The panels of cluster node `id` (on[] of columns × rows), false when it has none. */
static bool node_panels(const struct vw_wall *w, const char *id, bool *on)
{
    int k = vw_config_find_node(w->cfg, id);
    char why[96];
    return k >= 0 && vw_parse_panels(w->cfg->cluster.nodes[k].panels, w->geom.cols * w->geom.rows,
                                     on, why, sizeof why);
}

/* Panel (c, r)'s pixels in a picture of the whole wall pw × ph: the same integer edges on
 * every node, so the blocks they send fit together. */
static void panel_rect(const struct vw_wall *w, int pw, int ph, int c, int r, int *x0, int *y0,
                       int *x1, int *y1)
{
    int64_t fw = vw_geom_physical_w(&w->geom), fh = vw_geom_physical_h(&w->geom);
    *x0 = (int)((int64_t)c * w->geom.W * pw / fw);
    *x1 = (int)((int64_t)(c + 1) * w->geom.W * pw / fw);
    *y0 = (int)((int64_t)r * w->geom.H * ph / fh);
    *y1 = (int)((int64_t)(r + 1) * w->geom.H * ph / fh);
}

/* A node's answer to "shot": the block of the wall (pixels of the picture asked for) it
 * sent. */
struct block {
    int x, y, w, h;
    const uint8_t *rgba;
};

static bool parse_block(const struct vw_cluster_answer *a, int pw, int ph, struct block *b)
{
    const char *nl = a->ok ? memchr(a->data, '\n', (size_t)a->len) : NULL;
    if (!nl || sscanf(a->data, "%d %d %d %d", &b->x, &b->y, &b->w, &b->h) != 4)
        return false;
    size_t head = (size_t)(nl + 1 - (const char *)a->data);
    if (b->x < 0 || b->y < 0 || b->w <= 0 || b->h <= 0 || b->x + b->w > pw || b->y + b->h > ph ||
        (size_t)a->len != head + (size_t)b->w * (size_t)b->h * 4)
        return false;
    b->rgba = (const uint8_t *)a->data + head;
    return true;
}

/* Copies panel (c, r) from a node's block into the whole-wall picture `to` (pw × ph); false
 * when the block does not hold it. */
static bool copy_panel(const struct vw_wall *w, uint8_t *to, int pw, int ph, const struct block *b,
                       int c, int r)
{
    int x, y, x1, y1;
    panel_rect(w, pw, ph, c, r, &x, &y, &x1, &y1);
    if (x < b->x || y < b->y || x1 > b->x + b->w || y1 > b->y + b->h)
        return false;
    for (int row = 0; row < y1 - y; row++)
        memcpy(to + ((size_t)(y + row) * (size_t)pw + (size_t)x) * 4,
               b->rgba + ((size_t)(y - b->y + row) * (size_t)b->w + (size_t)(x - b->x)) * 4,
               (size_t)(x1 - x) * 4);
    return true;
}

/* ---- answering another node ------------------------------------------------------------- */

struct reload_answer {
    struct vw_wall *w;
    char reply[256];
};

static void answer_reload_done(void *ud, bool ok, const struct vw_errors *errs)
{
    struct reload_answer *a = ud;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", ok);
    cJSON *list = cJSON_AddArrayToObject(o, "errors");
    for (int i = 0; errs && i < errs->count; i++)
        cJSON_AddItemToArray(list, cJSON_CreateString(errs->msgs[i]));
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (text)
        vw_cluster_reply(a->w->cluster, a->reply, text, (int)strlen(text));
    free(text);
    free(a);
}

bool vw_wall_answering_reload(vw_reload_done_fn done)
{
    return done == answer_reload_done;
}

void vw_wall_answer_ask(struct vw_wall *w, struct vw_cluster_ask *a)
{
    if (!strcmp(a->what, "shot")) {
        /* The block of panels this node shows, cut from the wall as it draws it, at the
         * width asked for (the payload; none or 0: full size): a line "x y w h" (pixels of
         * that picture), then w·h RGBA pixels. */
        struct vw_errors errs;
        vw_errors_init(&errs);
        int pw, ph, n = w->geom.cols * w->geom.rows;
        int max_w = a->payload ? atoi(a->payload) : 0;
        bool *on = calloc((size_t)n, sizeof *on);
        uint8_t *rgba = on && node_panels(w, vw_cluster_node(w->cluster), on)
                            ? vw_wall_snapshot_scaled(w, max_w, &pw, &ph, &errs)
                            : NULL;
        if (rgba) {
            int c0 = w->geom.cols, r0 = w->geom.rows, c1 = -1, r1 = -1;
            for (int p = 0; p < n; p++) {
                if (!on[p])
                    continue;
                int c = p % w->geom.cols, r = p / w->geom.cols;
                c0 = c < c0 ? c : c0;
                r0 = r < r0 ? r : r0;
                c1 = c > c1 ? c : c1;
                r1 = r > r1 ? r : r1;
            }
            int x, y, x1, y1, ignore;
            panel_rect(w, pw, ph, c0, r0, &x, &y, &ignore, &ignore);
            panel_rect(w, pw, ph, c1, r1, &ignore, &ignore, &x1, &y1);
            int bw = x1 - x, bh = y1 - y;
            char head[64];
            int hl = snprintf(head, sizeof head, "%d %d %d %d\n", x, y, bw, bh);
            size_t len = (size_t)hl + (size_t)bw * (size_t)bh * 4;
            uint8_t *out = malloc(len);
            if (!out)
                abort();
            memcpy(out, head, (size_t)hl);
            for (int row = 0; row < bh; row++)
                memcpy(out + hl + (size_t)row * (size_t)bw * 4,
                       rgba + ((size_t)(y + row) * (size_t)pw + (size_t)x) * 4, (size_t)bw * 4);
            vw_cluster_reply(w->cluster, a->reply, out, (int)len);
            free(out);
        } else {
            vw_warn("cluster: cannot draw our panels for a screenshot: %s", vw_errors_first(&errs));
        }
        free(rgba);
        free(on);
        vw_errors_finish(&errs);
    } else if (!strcmp(a->what, "reload")) {
        struct reload_answer *ra = calloc(1, sizeof *ra);
        if (!ra)
            abort();
        ra->w = w;
        snprintf(ra->reply, sizeof ra->reply, "%s", a->reply);
        struct vw_wall_error e;
        if (!vw_wall_reload_start(w, answer_reload_done, ra, &e)) {
            struct vw_errors errs;
            vw_errors_init(&errs);
            vw_errors_add(&errs, "%s", e.message);
            answer_reload_done(ra, false, &errs);
            vw_errors_finish(&errs);
        }
    }
    free(a->payload);
}

/* ---- the whole wall, assembled ------------------------------------------------------------ */

/* The whole wall at most max_w wide (0: full size) from the nodes' answers to "shot": our
 * panels as we draw them, each answering node's block over its panels, and a slate naming
 * each node that sent nothing over its panels (added to `missing`). NULL with errs. */
static uint8_t *assemble(struct vw_wall *w, int max_w, const struct vw_cluster_answer *answers,
                         int count, int *pw, int *ph, cJSON *missing, struct vw_errors *errs)
{
    int n = w->geom.cols * w->geom.rows;
    int want_w, want_h;
    vw_wall_picture_size(w, max_w, &want_w, &want_h);
    bool *on = calloc((size_t)n, sizeof *on);
    /* one slate per panel of a node that sent nothing, naming it */
    struct vw_draw_tile *slates = calloc((size_t)n, sizeof *slates);
    char(*titles)[80] = calloc((size_t)n, sizeof *titles);
    struct block *blocks = calloc((size_t)count + 1, sizeof *blocks);
    const char **owners = calloc((size_t)count + 1, sizeof *owners);
    if (!on || !slates || !titles || !blocks || !owners)
        abort();
    int n_slates = 0;
    for (int i = 0; i < count; i++) {
        const struct vw_cluster_answer *a = &answers[i];
        if (!node_panels(w, a->node, on))
            continue;
        if (parse_block(a, want_w, want_h, &blocks[i])) {
            owners[i] = a->node;
            continue;
        }
        cJSON_AddItemToArray(missing, cJSON_CreateString(a->node));
        for (int p = 0; p < n; p++) {
            if (!on[p])
                continue;
            int k = n_slates++;
            snprintf(titles[k], sizeof titles[k], "NODE %s", a->node);
            slates[k] = (struct vw_draw_tile){
                .box = vw_geom_panel_box(&w->geom, p % w->geom.cols, p / w->geom.cols),
                .slate_title = titles[k],
                .slate_detail = "NO PICTURE · the node did not answer (down or cut off)"};
        }
    }
    uint8_t *rgba = vw_wall_snapshot_over(w, max_w, slates, n_slates, pw, ph, errs);
    for (int i = 0; rgba && i < count; i++) {
        if (!owners[i] || !node_panels(w, owners[i], on))
            continue;
        for (int p = 0; p < n; p++)
            if (on[p])
                copy_panel(w, rgba, *pw, *ph, &blocks[i], p % w->geom.cols, p / w->geom.cols);
    }
    free(on);
    free(slates);
    free(titles);
    free(blocks);
    free(owners);
    return rgba;
}

/* ---- a whole-wall screenshot ------------------------------------------------------------- */

struct shot {
    struct vw_wall *w;
    char *path;
    vw_shot_done_fn done;
    void *ud;
};

static void shot_gathered(void *ud, const struct vw_cluster_answer *answers, int count)
{
    struct shot *s = ud;
    struct vw_errors errs;
    vw_errors_init(&errs);
    cJSON *missing = cJSON_CreateArray();
    int pw = 0, ph = 0;
    uint8_t *rgba = assemble(s->w, 0, answers, count, &pw, &ph, missing, &errs);
    bool ok = rgba != NULL && vw_png_write(s->path, rgba, pw, ph, &errs);
    if (ok)
        vw_info("screenshot of the whole wall (%dx%d, %d node%s missing) written to %s", pw, ph,
                cJSON_GetArraySize(missing), cJSON_GetArraySize(missing) == 1 ? "" : "s", s->path);
    s->done(s->ud, ok, &errs, missing);
    vw_errors_finish(&errs);
    cJSON_Delete(missing);
    free(rgba);
    free(s->path);
    free(s);
}

bool vw_wall_screenshot_cluster(struct vw_wall *w, const char *path, vw_shot_done_fn done, void *ud)
{
    if (!w->cluster)
        return false;
    struct shot *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->w = w;
    s->path = strdup(path);
    s->done = done;
    s->ud = ud;
    vw_cluster_ask_others(w->cluster, "shot", NULL, SHOT_TIMEOUT_MS, shot_gathered, s);
    return true;
}

/* ---- the live picture (the console's /wall.jpg) -------------------------------------------- */

struct picture_job {
    struct vw_wall *w;
    int max_w;
};

static void picture_gathered(void *ud, const struct vw_cluster_answer *answers, int count)
{
    struct picture_job *job = ud;
    struct vw_wall *w = job->w;
    struct vw_errors errs;
    vw_errors_init(&errs);
    cJSON *missing = cJSON_CreateArray();
    int pw = 0, ph = 0;
    uint8_t *rgba = assemble(w, job->max_w, answers, count, &pw, &ph, missing, &errs);
    if (rgba) {
        free(w->picture.rgba);
        w->picture.rgba = rgba;
        w->picture.w = pw;
        w->picture.h = ph;
        w->picture.max_w = job->max_w;
        w->picture.at_us = vw_now_us();
    } else {
        vw_warn("cluster: the whole wall's picture: %s", vw_errors_first(&errs));
    }
    w->picture.pending = NULL;
    vw_errors_finish(&errs);
    cJSON_Delete(missing);
    free(job);
}

uint8_t *vw_wall_cluster_picture(struct vw_wall *w, int max_w, int64_t max_age_us, int *width,
                                 int *height)
{
    if (!w->cluster)
        return NULL;
    int64_t now = vw_now_us();
    bool stale =
        !w->picture.rgba || now - w->picture.at_us >= max_age_us || w->picture.max_w != max_w;
    if (stale && !w->picture.pending) {
        struct picture_job *job = calloc(1, sizeof *job);
        if (!job)
            abort();
        job->w = w;
        job->max_w = max_w;
        char payload[16];
        snprintf(payload, sizeof payload, "%d", max_w);
        w->picture.pending = job;
        vw_cluster_ask_others(w->cluster, "shot", payload, PICTURE_TIMEOUT_MS, picture_gathered,
                              job);
    }
    if (!w->picture.rgba)
        return NULL;
    size_t len = (size_t)w->picture.w * (size_t)w->picture.h * 4;
    uint8_t *copy = malloc(len);
    if (!copy)
        abort();
    memcpy(copy, w->picture.rgba, len);
    *width = w->picture.w;
    *height = w->picture.h;
    return copy;
}

/* ---- a reload on every node ---------------------------------------------------------------- */

struct reload_all {
    struct vw_wall *w;
    bool ok;
    struct vw_errors errs; /* ours, then each node's, "node b: ..." */
    vw_reload_done_fn done;
    void *ud;
};

static cJSON *node_result(const char *id, bool ok, cJSON *errors)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddBoolToObject(o, "ok", ok);
    cJSON_AddItemToObject(o, "errors", errors ? errors : cJSON_CreateArray());
    return o;
}

static void reload_gathered(void *ud, const struct vw_cluster_answer *answers, int count)
{
    struct reload_all *r = ud;
    struct vw_wall *w = r->w;
    cJSON *nodes = cJSON_CreateArray();
    cJSON *mine = cJSON_CreateArray();
    for (int i = 0; i < r->errs.count; i++)
        cJSON_AddItemToArray(mine, cJSON_CreateString(r->errs.msgs[i]));
    cJSON_AddItemToArray(nodes, node_result(vw_cluster_node(w->cluster), r->ok, mine));
    for (int i = 0; i < count; i++) {
        const struct vw_cluster_answer *a = &answers[i];
        cJSON *o = a->ok ? cJSON_ParseWithLength(a->data, (size_t)a->len) : NULL;
        const cJSON *ok = cJSON_GetObjectItemCaseSensitive(o, "ok");
        cJSON *errors = cJSON_DetachItemFromObjectCaseSensitive(o, "errors");
        bool good = cJSON_IsBool(ok) && cJSON_IsTrue(ok);
        if (!o || !cJSON_IsBool(ok)) {
            cJSON_Delete(errors);
            errors = cJSON_CreateArray();
            cJSON_AddItemToArray(errors, cJSON_CreateString("no answer (node down or cut off)"));
        }
        const cJSON *e;
        cJSON_ArrayForEach(e, errors)
        {
            if (cJSON_IsString(e))
                vw_errors_add(&r->errs, "node %s: %s", a->node, e->valuestring);
        }
        r->ok &= good;
        cJSON_AddItemToArray(nodes, node_result(a->node, good, errors));
        cJSON_Delete(o);
    }
    cJSON_Delete(w->reload_nodes);
    w->reload_nodes = nodes;
    r->done(r->ud, r->ok, &r->errs);
    vw_errors_finish(&r->errs);
    free(r);
}

void vw_wall_reload_others(struct vw_wall *w, bool ok, const struct vw_errors *errs,
                           vw_reload_done_fn done, void *ud)
{
    struct reload_all *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->w = w;
    r->ok = ok;
    vw_errors_init(&r->errs);
    for (int i = 0; i < errs->count; i++)
        vw_errors_add(&r->errs, "%s", errs->msgs[i]);
    r->done = done;
    r->ud = ud;
    vw_cluster_ask_others(w->cluster, "reload", NULL, RELOAD_TIMEOUT_MS, reload_gathered, r);
}

cJSON *vw_wall_take_reload_nodes(struct vw_wall *w)
{
    cJSON *n = w->reload_nodes;
    w->reload_nodes = NULL;
    return n;
}
