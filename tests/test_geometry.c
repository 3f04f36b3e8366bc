/* Geometry: rect (panel units) → virtual canvas (bezels included) → physical panel pixels. */
#include "check.h"
#include "model/geometry.h"

/* The district wall: 6×3 panels of 1920×1080 with 24-pixel bezels. */
static const struct vw_geom district = {
    .W = 1920, .H = 1080, .bx = 24, .by = 24, .cols = 6, .rows = 3};

static void test_edges(void)
{
    const struct vw_geom *g = &district;
    /* Left/top edges on a boundary n start panel n. */
    CHECK_NEAR(vw_geom_edge_x(g, 0, false), 0, 0);
    CHECK_NEAR(vw_geom_edge_x(g, 1, false), 1944, 0);
    CHECK_NEAR(vw_geom_edge_x(g, 2, false), 3888, 0);
    /* Right edges on a boundary end at the far edge of the last panel covered. */
    CHECK_NEAR(vw_geom_edge_x(g, 1, true), 1920, 0);
    CHECK_NEAR(vw_geom_edge_x(g, 6, true), 6 * 1944 - 24, 0);
    CHECK_NEAR(vw_geom_edge_y(g, 3, true), 3 * 1104 - 24, 0);
    /* Inside a panel: floor(x)·(W+bx) + frac·W, for either side. */
    CHECK_NEAR(vw_geom_edge_x(g, 0.5, false), 960, 1e-9);
    CHECK_NEAR(vw_geom_edge_x(g, 1.5, true), 1944 + 960, 1e-9);
    CHECK_NEAR(vw_geom_edge_y(g, 2.25, false), 2 * 1104 + 270, 1e-9);
    /* A decimal a hair off the boundary counts as on it. */
    CHECK_NEAR(vw_geom_edge_x(g, 2.9999999999, true), 3 * 1944 - 24, 1e-6);
}

static void test_tile_boxes(void)
{
    const struct vw_geom *g = &district;
    /* One panel: exactly the panel. */
    struct vw_box b = vw_geom_tile_box(g, (struct vw_rect){0, 0, 1, 1});
    CHECK_NEAR(b.x0, 0, 0);
    CHECK_NEAR(b.x1, 1920, 0);
    CHECK_NEAR(b.y1, 1080, 0);
    /* [1,0,2,2]: a 2×2 block from the second column, bezels inside it included. */
    b = vw_geom_tile_box(g, (struct vw_rect){1, 0, 2, 2});
    CHECK_NEAR(b.x0, 1944, 0);
    CHECK_NEAR(b.x1, 3 * 1944 - 24, 0);
    CHECK_NEAR(b.y0, 0, 0);
    CHECK_NEAR(b.y1, 2 * 1104 - 24, 0);
    CHECK_NEAR(b.x1 - b.x0, 2 * 1920 + 24, 0);
    /* Quarter of the top-left panel. */
    b = vw_geom_tile_box(g, (struct vw_rect){0, 0, 0.5, 0.5});
    CHECK_NEAR(b.x1, 960, 1e-9);
    CHECK_NEAR(b.y1, 540, 1e-9);
    /* The whole wall is the whole virtual canvas. */
    b = vw_geom_tile_box(g, (struct vw_rect){0, 0, 6, 3});
    CHECK_NEAR(b.x1, vw_geom_virtual_w(g), 0);
    CHECK_NEAR(b.y1, vw_geom_virtual_h(g), 0);
    CHECK(vw_geom_physical_w(g) == 11520);
    CHECK(vw_geom_physical_h(g) == 3240);
}

static void test_panels(void)
{
    const struct vw_geom *g = &district;
    struct vw_box p = vw_geom_panel_box(g, 2, 1);
    CHECK_NEAR(p.x0, 2 * 1944, 0);
    CHECK_NEAR(p.y0, 1104, 0);
    CHECK_NEAR(p.x1 - p.x0, 1920, 0);
    /* Physical pixel (px, py) of panel (c, r) shows virtual (c·(W+bx)+px, r·(H+by)+py). */
    double vx, vy;
    vw_geom_physical_to_virtual(g, 2 * 1920 + 5, 1080 + 7, &vx, &vy);
    CHECK_NEAR(vx, 2 * 1944 + 5, 0);
    CHECK_NEAR(vy, 1104 + 7, 0);
    vw_geom_physical_to_virtual(g, 11519, 3239, &vx, &vy);
    CHECK_NEAR(vx, 5 * 1944 + 1919, 0);
    CHECK_NEAR(vy, 2 * 1104 + 1079, 0);
    /* A 2-panel span loses exactly one bezel of picture: its virtual width is 2W + bx, of
     * which 2W is shown. */
    struct vw_box span = vw_geom_tile_box(g, (struct vw_rect){0, 0, 2, 1});
    struct vw_box p0 = vw_geom_panel_box(g, 0, 0), p1 = vw_geom_panel_box(g, 1, 0);
    CHECK(vw_box_intersects(span, p0));
    CHECK(vw_box_intersects(span, p1));
    CHECK(!vw_box_intersects(span, vw_geom_panel_box(g, 2, 0)));
    CHECK(!vw_box_intersects(span, vw_geom_panel_box(g, 0, 1)));
    CHECK_NEAR((span.x1 - span.x0) - (p0.x1 - p0.x0) - (p1.x1 - p1.x0), 24, 0);
}

static void test_place(void)
{
    struct vw_box tile = {0, 0, 1600, 900}; /* 16:9 */
    /* A 4:3 picture fits with bars left and right. */
    struct vw_placement p = vw_geom_place(tile, 4.0 / 3, VW_FIT_FIT);
    CHECK_NEAR(p.quad.x0, 200, 1e-9);
    CHECK_NEAR(p.quad.x1, 1400, 1e-9);
    CHECK_NEAR(p.quad.y0, 0, 0);
    CHECK_NEAR(p.tex.x0, 0, 0);
    CHECK_NEAR(p.tex.x1, 1, 0);
    /* Filled, it is cropped top and bottom: 3/4·4/3·9/16 ... keeps 0.75 of its height. */
    p = vw_geom_place(tile, 4.0 / 3, VW_FIT_FILL);
    CHECK_NEAR(p.quad.x0, 0, 0);
    CHECK_NEAR(p.quad.x1, 1600, 0);
    CHECK_NEAR(p.tex.y0, 0.125, 1e-9);
    CHECK_NEAR(p.tex.y1, 0.875, 1e-9);
    /* A 21:9 picture in a 16:9 tile: letterbox when fitted, side crop when filled. */
    p = vw_geom_place(tile, 21.0 / 9, VW_FIT_FIT);
    CHECK_NEAR(p.quad.y1 - p.quad.y0, 1600 / (21.0 / 9), 1e-9);
    CHECK_NEAR(p.quad.x1 - p.quad.x0, 1600, 0);
    p = vw_geom_place(tile, 21.0 / 9, VW_FIT_FILL);
    CHECK_NEAR(p.tex.x1 - p.tex.x0, (16.0 / 9) / (21.0 / 9), 1e-9);
    /* Stretch always covers the tile with the whole picture. */
    p = vw_geom_place(tile, 4.0 / 3, VW_FIT_STRETCH);
    CHECK_NEAR(p.quad.x0, 0, 0);
    CHECK_NEAR(p.quad.x1, 1600, 0);
    CHECK_NEAR(p.tex.y0, 0, 0);
    CHECK_NEAR(p.tex.y1, 1, 0);
}

static void test_one_to_one(void)
{
    /* 640 pixels showing a 640-texel chroma plane whole: exact. */
    CHECK(vw_geom_one_to_one(0, 640, 0.0, 1.0, 640));
    CHECK(vw_geom_one_to_one(1280, 1920, 0.0, 1.0, 640));  /* any whole offset */
    CHECK(!vw_geom_one_to_one(0, 640, 0.0, 1.0, 1280));    /* luma halved */
    CHECK(!vw_geom_one_to_one(0, 1280, 0.0, 1.0, 640));    /* doubled */
    CHECK(!vw_geom_one_to_one(0.5, 640.5, 0.0, 1.0, 640)); /* half a pixel off */
    /* fill's crop: texels 80..560 of 640 on 480 pixels; off by a fraction of a texel: not. */
    CHECK(vw_geom_one_to_one(0, 480, 0.125, 0.875, 640));
    CHECK(!vw_geom_one_to_one(0, 480, 0.1251, 0.8751, 640));
    CHECK(!vw_geom_one_to_one(0, 640, 0.0, 1.0, 0));
    CHECK(!vw_geom_one_to_one(10, 10, 0.0, 0.0, 640)); /* empty */
}

int main(void)
{
    test_edges();
    test_tile_boxes();
    test_panels();
    test_place();
    test_one_to_one();
    return check_summary("test_geometry");
}
