/* cluster_views: the whole wall seen from any node of a cluster — a screenshot assembled from
 * every node's panels, and a reload made on every node with each node's errors. The other
 * nodes are asked over NATS (cluster/cluster.h: vw_cluster_ask_others); their answers come
 * back in a later tick. Main thread only. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "render/png.h"
#include "wall/internal.h"

#define SHOT_TIMEOUT_MS 5000
#define RELOAD_TIMEOUT_MS 15000

/* The panels of cluster node `id` (on[] of columns × rows), false when it has none. */
static bool node_panels(const struct vw_wall *w, const char *id, bool *on)
{
    int k = vw_config_find_node(w->cfg, id);
    char why[96];
    return k >= 0 && vw_parse_panels(w->cfg->cluster.nodes[k].panels, w->geom.cols * w->geom.rows,
                                     on, why, sizeof why);
}

/* A node's answer to "shot": the block of the wall (physical pixels) it sent. */
struct block {
    int x, y, w, h;
    const uint8_t *rgba;
};

static bool parse_block(const struct vw_cluster_answer *a, const struct vw_wall *w, struct block *b)
{
    const char *nl = a->ok ? memchr(a->data, '\n', (size_t)a->len) : NULL;
    if (!nl || sscanf(a->data, "%d %d %d %d", &b->x, &b->y, &b->w, &b->h) != 4)
        return false;
    int pw = vw_geom_physical_w(&w->geom), ph = vw_geom_physical_h(&w->geom);
    size_t head = (size_t)(nl + 1 - (const char *)a->data);
    if (b->x < 0 || b->y < 0 || b->w <= 0 || b->h <= 0 || b->x + b->w > pw || b->y + b->h > ph ||
        (size_t)a->len != head + (size_t)b->w * (size_t)b->h * 4)
        return false;
    b->rgba = (const uint8_t *)a->data + head;
    return true;
}

/* Copies panel (c, r) from a node's block into the whole-wall picture `to`; false when the
 * block does not hold it. */
static bool copy_panel(const struct vw_wall *w, uint8_t *to, const struct block *b, int c, int r)
{
    int pw = vw_geom_physical_w(&w->geom);
    int x = c * w->geom.W, y = r * w->geom.H;
    if (x < b->x || y < b->y || x + w->geom.W > b->x + b->w || y + w->geom.H > b->y + b->h)
        return false;
    for (int row = 0; row < w->geom.H; row++)
        memcpy(to + ((size_t)(y + row) * (size_t)pw + (size_t)x) * 4,
               b->rgba + ((size_t)(y - b->y + row) * (size_t)b->w + (size_t)(x - b->x)) * 4,
               (size_t)w->geom.W * 4);
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
        /* The block of panels this node shows, cut from the wall as it draws it: a line
         * "x y w h" (physical pixels), then w·h RGBA pixels. */
        struct vw_errors errs;
        vw_errors_init(&errs);
        int pw, ph, n = w->geom.cols * w->geom.rows;
        bool *on = calloc((size_t)n, sizeof *on);
        uint8_t *rgba = on && node_panels(w, vw_cluster_node(w->cluster), on)
                            ? vw_wall_snapshot(w, &pw, &ph, &errs)
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
            int x = c0 * w->geom.W, y = r0 * w->geom.H;
            int bw = (c1 - c0 + 1) * w->geom.W, bh = (r1 - r0 + 1) * w->geom.H;
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
    struct vw_wall *w = s->w;
    int n = w->geom.cols * w->geom.rows;
    bool *on = calloc((size_t)n, sizeof *on);
    /* one slate per panel of a node that sent nothing, naming it */
    struct vw_draw_tile *slates = calloc((size_t)n, sizeof *slates);
    char(*titles)[80] = calloc((size_t)n, sizeof *titles);
    if (!on || !slates || !titles)
        abort();
    int n_slates = 0;
    cJSON *missing = cJSON_CreateArray();
    struct block *blocks = calloc((size_t)count + 1, sizeof *blocks);
    const char **owners = calloc((size_t)count + 1, sizeof *owners);
    if (!blocks || !owners)
        abort();
    for (int i = 0; i < count; i++) {
        const struct vw_cluster_answer *a = &answers[i];
        if (!node_panels(w, a->node, on))
            continue;
        if (parse_block(a, w, &blocks[i])) {
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
    /* Our panels as we draw them, the silent nodes' as slates; then the others' blocks. */
    struct vw_errors errs;
    vw_errors_init(&errs);
    int pw = 0, ph = 0;
    uint8_t *rgba = vw_wall_snapshot_over(w, 0, slates, n_slates, &pw, &ph, &errs);
    bool ok = rgba != NULL;
    for (int i = 0; ok && i < count; i++) {
        if (!owners[i] || !node_panels(w, owners[i], on))
            continue;
        for (int p = 0; p < n; p++)
            if (on[p])
                copy_panel(w, rgba, &blocks[i], p % w->geom.cols, p / w->geom.cols);
    }
    if (ok)
        ok = vw_png_write(s->path, rgba, pw, ph, &errs);
    if (ok)
        vw_info("screenshot of the whole wall (%dx%d, %d node%s missing) written to %s", pw, ph,
                cJSON_GetArraySize(missing), cJSON_GetArraySize(missing) == 1 ? "" : "s", s->path);
    s->done(s->ud, ok, &errs, missing);
    vw_errors_finish(&errs);
    cJSON_Delete(missing);
    free(rgba);
    free(on);
    free(slates);
    free(titles);
    free(blocks);
    free(owners);
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
