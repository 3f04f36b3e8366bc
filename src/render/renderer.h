/* renderer: GL textures, shaders and tiles. Render thread only, with the GL context current.
 *
 * A decoded frame is uploaded once, in its native planes (yuv420p, nv12, …), into a
 * vw_texture; the YUV→RGB conversion with the frame's matrix (BT.601/BT.709) and range
 * (limited/full) happens in the fragment shaders loaded from shaders/. Tiles are drawn one
 * panel at a time: each panel's viewport shows its part of the virtual canvas.
 *
 * On software GL the pictures are scaled and converted on the CPU instead (VW_COMPOSE_CPU,
 * src/cpu_picture.h) and written straight into the target's texture; slates, labels and
 * badges are drawn with GL either way. */
#ifndef VW_RENDERER_H
#define VW_RENDERER_H

#include <stdbool.h>
#include <stdint.h>

#include "model/config.h"
#include "base/errors.h"
#include "model/geometry.h"

struct AVFrame;
struct vw_renderer;
struct vw_texture;

/* Who scales and converts the pictures (see src/cpu_picture.h). */
enum vw_compose {
    VW_COMPOSE_AUTO, /* the CPU on software GL (llvmpipe, softpipe), else the GPU */
    VW_COMPOSE_GPU,  /* fragment shaders on the YUV planes */
    VW_COMPOSE_CPU,  /* libswscale, written into the framebuffer texture */
};

struct vw_renderer_options {
    const char *shader_dir; /* folder holding the .glsl files */
    const char
        *font_path; /* TTF/OTF/TTC for labels; NULL: find a CJK-capable font with fontconfig */
    int label_size; /* text height in pixels on the wall (virtual pixels) */
    enum vw_compose compose;
};

/* "auto", "gpu", "cpu" → *out; false for another word. */
bool vw_compose_parse(const char *s, enum vw_compose *out);
const char *vw_compose_name(enum vw_compose c); /* "auto", "gpu", "cpu" */

/* Needs a current GL 3.3+ core context. NULL on failure with the reason in errs (a shader
 * error names the shader file and line). */
struct vw_renderer *vw_renderer_create(const struct vw_renderer_options *opt,
                                       struct vw_errors *errs);
void vw_renderer_destroy(struct vw_renderer *r); /* NULL ok */

/* A video picture on the GPU. Created empty (draws as "no picture"). */
struct vw_texture *vw_texture_create(struct vw_renderer *r);
void vw_texture_destroy(struct vw_texture *t); /* NULL ok */
/* Uploads `frame` (not kept). Any software format libswscale reads is shown with FFmpeg's
 * colours: planar, semi-planar, gray and packed RGB/YUV 4:4:4 layouts go up as they are and
 * the shaders convert them; another (palette, 1-bit, Bayer, rgb565, yuyv422, float, the other
 * byte order) is converted on the CPU first, as is a frame larger than GL_MAX_TEXTURE_SIZE,
 * scaled down to fit (logged once per size). false if the frame can't be shown: the reason
 * is logged once and kept (vw_texture_problem). */
bool vw_texture_upload(struct vw_texture *t, const struct AVFrame *frame);
/* The same for a frame the caller is done with. With --compose cpu the texture keeps the
 * frame's buffers instead of a copy and leaves `frame` blank; GL textures copy as above. */
bool vw_texture_upload_take(struct vw_texture *t, struct AVFrame *frame);
bool vw_texture_has_picture(const struct vw_texture *t);
/* Why the last frame offered could not be shown ("frames in nv20le can't be shown
 * (libswscale cannot read them)"), for the tile's slate; NULL once one is shown again.
 * Frames larger than the GL texture limit are shown, scaled down (logged once). */
const char *vw_texture_problem(const struct vw_texture *t);
/* Display aspect (width/height after sample aspect, turned upright when the frame's display
 * matrix says so: see vw_picture_rotation) of the last upload; 16/9 before any. Pictures are
 * drawn upright too. */
double vw_texture_aspect(const struct vw_texture *t);

enum vw_tile_badge {
    VW_BADGE_NONE,
    VW_BADGE_STALLED,      /* picture kept, red "STALLED n s" badge */
    VW_BADGE_RECONNECTING, /* picture kept, amber badge */
};

/* One tile to draw, prepared by the caller each frame. */
struct vw_draw_tile {
    struct vw_box box; /* on the virtual canvas */
    enum vw_fit fit;
    struct vw_texture *tex;   /* NULL or without picture → the no-signal slate */
    const char *label;        /* text at the tile's bottom-left, or NULL */
    const char *slate_title;  /* slate: big line (source name) */
    const char *slate_detail; /* slate: small line ("NO SIGNAL · offline: Connection refused") */
    enum vw_tile_badge badge;
    const char *badge_text; /* "STALLED 12 s" */
};

/* Where one panel goes in the current framebuffer: its part of the virtual canvas, and the
 * framebuffer pixels (origin top-left) it is drawn to. */
struct vw_panel_view {
    struct vw_box virt;
    int x, y, w, h;
};

/* Starts a frame on the bound framebuffer of size fb_w×fb_h: clears it to black. */
void vw_renderer_begin(struct vw_renderer *r, int fb_w, int fb_h);
/* Starts a frame that draws over what the framebuffer already holds: a redraw of only the
 * tiles that changed. A tile draws its whole area (picture, bars or slate), so redrawing it
 * alone is exact as long as no other tile overlaps it. */
void vw_renderer_begin_over(struct vw_renderer *r, int fb_w, int fb_h);
/* Draws every tile that overlaps the panel, clipped to it. */
void vw_renderer_draw_panel(struct vw_renderer *r, const struct vw_panel_view *pv,
                            const struct vw_draw_tile *tiles, int n);
/* Ends the frame: frees label textures not used for a while. */
void vw_renderer_end(struct vw_renderer *r);
/* Label font (NULL: found through fontconfig) and height in pixels, as on creation, for a
 * reloaded wall file. False, keeping the old ones, when SDL_ttf cannot start. */
bool vw_renderer_set_labels(struct vw_renderer *r, const char *font_path, int label_size);
/* How many picture planes were drawn so far with nearest-texel sampling because the tile
 * showed them one texel per pixel (see vw_geom_one_to_one); for tests and diagnostics. */
unsigned long vw_renderer_nearest_planes(const struct vw_renderer *r);
/* What draws the pictures: VW_COMPOSE_GPU or VW_COMPOSE_CPU ("auto" decided on creation). */
enum vw_compose vw_renderer_compose(const struct vw_renderer *r);
/* The GL_RENDERER string, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
const char *vw_renderer_gl_name(const struct vw_renderer *r);

/* An offscreen framebuffer (RGBA8) for screenshots and headless runs. */
struct vw_target;
struct vw_target *vw_target_create(struct vw_renderer *r, int w, int h, struct vw_errors *errs);
void vw_target_destroy(struct vw_target *t); /* NULL ok */
void vw_target_bind(struct vw_target *t);    /* NULL: the window's default framebuffer */
/* Copies the whole target to the window's default framebuffer (same size), 1:1. */
void vw_target_blit_to_window(struct vw_renderer *r, struct vw_target *t);
int vw_target_width(const struct vw_target *t);
int vw_target_height(const struct vw_target *t);
/* Reads the target into `rgba` (w·h·4 bytes, top row first). */
void vw_target_read(struct vw_target *t, uint8_t *rgba);
/* The same as GL holds it, bottom row first: no pass to flip the rows. */
void vw_target_read_bottom_up(struct vw_target *t, uint8_t *rgba);

/* Sanitizer builds only (a no-op otherwise): SDL unloads Mesa's libraries at exit, after
 * which LeakSanitizer reports Mesa's long-lived allocations as leaks from "<unknown
 * module>", which no suppression can match. Keeping the GL libraries loaded so far mapped
 * lets LSan see that memory as reachable, so a leak report means a leak of ours. */
void vw_gl_keep_libraries_loaded(void);

#endif
