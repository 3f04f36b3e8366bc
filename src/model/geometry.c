#include "model/geometry.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Panel coordinates within this distance of an integer count as lying on the boundary:
 * wall files hold decimals such as 0.333333 for thirds. */
#define EDGE_EPS 1e-6

struct vw_geom vw_geom_from_config(const struct vw_config *cfg)
{
    return (struct vw_geom){
        .W = cfg->screen_w,
        .H = cfg->screen_h,
        .bx = cfg->bezel_x,
        .by = cfg->bezel_y,
        .cols = cfg->columns,
        .rows = cfg->rows,
    };
}

/* One axis of the edge rule: panel size `size`, bezel `bezel`. */
static double edge(double x, int size, int bezel, bool far)
{
    double n = floor(x + EDGE_EPS);
    bool on_boundary = fabs(x - n) < EDGE_EPS;
    if (on_boundary) {
        if (far && n > 0)
            return n * (size + bezel) - bezel;
        return n * (size + bezel);
    }
    n = floor(x);
    return n * (size + bezel) + (x - n) * size;
}

double vw_geom_edge_x(const struct vw_geom *g, double x, bool far)
{
    return edge(x, g->W, g->bx, far);
}
double vw_geom_edge_y(const struct vw_geom *g, double y, bool far)
{
    return edge(y, g->H, g->by, far);
}

struct vw_box vw_geom_tile_box(const struct vw_geom *g, struct vw_rect r)
{
    return (struct vw_box){
        .x0 = vw_geom_edge_x(g, r.x, false),
        .y0 = vw_geom_edge_y(g, r.y, false),
        .x1 = vw_geom_edge_x(g, r.x + r.w, true),
        .y1 = vw_geom_edge_y(g, r.y + r.h, true),
    };
}

double vw_geom_virtual_w(const struct vw_geom *g)
{
    return (double)g->cols * (g->W + g->bx) - g->bx;
}
double vw_geom_virtual_h(const struct vw_geom *g)
{
    return (double)g->rows * (g->H + g->by) - g->by;
}
int vw_geom_physical_w(const struct vw_geom *g)
{
    return g->cols * g->W;
}
int vw_geom_physical_h(const struct vw_geom *g)
{
    return g->rows * g->H;
}

struct vw_box vw_geom_panel_box(const struct vw_geom *g, int c, int r)
{
    double x0 = (double)c * (g->W + g->bx), y0 = (double)r * (g->H + g->by);
    return (struct vw_box){x0, y0, x0 + g->W, y0 + g->H};
}

void vw_geom_physical_to_virtual(const struct vw_geom *g, double px, double py, double *vx,
                                 double *vy)
{
    int c = (int)floor(px / g->W), r = (int)floor(py / g->H);
    if (c >= g->cols)
        c = g->cols - 1;
    if (r >= g->rows)
        r = g->rows - 1;
    *vx = px + (double)c * g->bx;
    *vy = py + (double)r * g->by;
}

struct vw_placement vw_geom_place(struct vw_box tile, double dar, enum vw_fit fit)
{
    struct vw_placement p = {.quad = tile, .tex = {0, 0, 1, 1}};
    double tw = tile.x1 - tile.x0, th = tile.y1 - tile.y0;
    if (fit == VW_FIT_STRETCH || dar <= 0 || tw <= 0 || th <= 0)
        return p;
    double tile_ar = tw / th;
    if (fit == VW_FIT_FIT) {
        if (dar > tile_ar) { /* wider picture: bars top and bottom */
            double h = tw / dar, y0 = tile.y0 + (th - h) / 2;
            p.quad.y0 = y0;
            p.quad.y1 = y0 + h;
        } else { /* taller picture: bars left and right */
            double w = th * dar, x0 = tile.x0 + (tw - w) / 2;
            p.quad.x0 = x0;
            p.quad.x1 = x0 + w;
        }
    } else {                 /* VW_FIT_FILL: crop the picture to the tile's aspect */
        if (dar > tile_ar) { /* crop left and right */
            double keep = tile_ar / dar;
            p.tex.x0 = (1 - keep) / 2;
            p.tex.x1 = 1 - p.tex.x0;
        } else { /* crop top and bottom */
            double keep = dar / tile_ar;
            p.tex.y0 = (1 - keep) / 2;
            p.tex.y1 = 1 - p.tex.y0;
        }
    }
    return p;
}

bool vw_box_intersects(struct vw_box a, struct vw_box b)
{
    return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

static bool is_whole(double v)
{
    return fabs(v - round(v)) < 1e-3;
}

bool vw_geom_one_to_one(double p0, double p1, double t0, double t1, int size)
{
    double texels = (t1 - t0) * size;
    return size > 0 && p1 > p0 && fabs((p1 - p0) - texels) < 1e-3 && is_whole(p0) &&
           is_whole(t0 * size);
}

bool vw_parse_panels(const char *spec, int n, bool *on, char *why, size_t why_cap)
{
    for (int i = 0; i < n; i++)
        on[i] = false;
    const char *p = spec;
    if (!*p)
        goto bad;
    while (*p) {
        char *end;
        if (*p < '0' || *p > '9')
            goto bad;
        long a = strtol(p, &end, 10), b = a;
        if (*end == '-') {
            p = end + 1;
            if (*p < '0' || *p > '9')
                goto bad;
            b = strtol(p, &end, 10);
        }
        if (b >= n || a > b) {
            snprintf(why, why_cap, "panels are numbered 0..%d (row by row)", n - 1);
            return false;
        }
        for (long i = a; i <= b; i++)
            on[i] = true;
        p = end;
        if (*p == ',' && p[1])
            p++;
        else if (*p)
            goto bad;
    }
    return true;
bad:
    snprintf(why, why_cap, "expected panel numbers and ranges such as 0-8,12");
    return false;
}
