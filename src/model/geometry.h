/* geometry: panel units → virtual canvas (bezels included) → physical panel pixels.
 *
 * The virtual canvas is the wall as if the bezels were pixels too: panel (c, r) starts at
 * virtual (c·(W+bx), r·(H+by)). A tile is laid out on it, so what falls behind a bezel is
 * hidden and straight lines stay straight across panels. Pure functions, any thread. */
#ifndef VW_GEOMETRY_H
#define VW_GEOMETRY_H

#include <stdbool.h>
#include <stddef.h>

#include "model/config.h"

struct vw_geom {
    int W, H;       /* one panel, pixels */
    int bx, by;     /* bezel, pixels */
    int cols, rows; /* panels */
};

/* A list of panels such as "0-5,12" (numbered row by row from 0, n in all) into on[n]:
 * true for each panel named. false with the reason in why (on[] is then undefined). */
bool vw_parse_panels(const char *spec, int n, bool *on, char *why, size_t why_cap);

/* A rectangle in (virtual or physical) pixels, as doubles: x0,y0 top-left, x1,y1 bottom-right. */
struct vw_box {
    double x0, y0, x1, y1;
};

struct vw_geom vw_geom_from_config(const struct vw_config *cfg);

/* Virtual pixel of a horizontal edge at panel coordinate x. `far` marks a right edge: one
 * lying exactly on a panel boundary n > 0 maps to n·(W+bx) − bx, the far edge of the last
 * panel it covers; any other edge maps to floor(x)·(W+bx) + (x − floor(x))·W. */
double vw_geom_edge_x(const struct vw_geom *g, double x, bool far);
double vw_geom_edge_y(const struct vw_geom *g, double y, bool far);

/* A tile's rect (panel units) on the virtual canvas. */
struct vw_box vw_geom_tile_box(const struct vw_geom *g, struct vw_rect r);

/* Size of the virtual canvas and of the physical wall (bezels removed). */
double vw_geom_virtual_w(const struct vw_geom *g);
double vw_geom_virtual_h(const struct vw_geom *g);
int vw_geom_physical_w(const struct vw_geom *g); /* cols·W */
int vw_geom_physical_h(const struct vw_geom *g); /* rows·H */

/* The virtual-canvas area shown by panel (c, r): W×H starting at (c·(W+bx), r·(H+by)). */
struct vw_box vw_geom_panel_box(const struct vw_geom *g, int c, int r);

/* Physical pixel (px, py) of the whole wall (bezels removed) → virtual pixel. */
void vw_geom_physical_to_virtual(const struct vw_geom *g, double px, double py, double *vx,
                                 double *vy);

/* Where a picture of video_w×video_h (display aspect `dar` = width/height, after the
 * sample aspect ratio) goes inside `tile`, for a fit mode:
 *   quad: the area it covers (inside tile; smaller for VW_FIT_FIT → letterbox bars),
 *   tex:  the part of the picture shown, in 0..1 texture coordinates (smaller for
 *         VW_FIT_FILL → cropped). */
struct vw_placement {
    struct vw_box quad;
    struct vw_box tex;
};
struct vw_placement vw_geom_place(struct vw_box tile, double dar, enum vw_fit fit);

/* True when a quad from framebuffer pixel p0 to p1 (one axis) showing texture coordinates
 * t0..t1 (0..1) of a plane `size` texels long puts every texel centre exactly on a pixel
 * centre: one texel per pixel, aligned. Nearest-texel sampling then gives exactly what
 * bilinear sampling gives, and costs a software rasteriser much less. */
bool vw_geom_one_to_one(double p0, double p1, double t0, double t1, int size);

/* True when boxes a and b overlap with positive area. */
bool vw_box_intersects(struct vw_box a, struct vw_box b);

#endif
