#include "wall/outputs.h"

#include <SDL.h>
#include <epoxy/gl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "model/geometry.h"
#include "render/renderer.h"

/* One output: a window (or, offscreen, nothing but its target) showing a block of panels. */
struct output {
    SDL_Window *win; /* NULL offscreen */
    struct vw_target *target;
    struct vw_output_block block;
    /* A window shown through its SDL window surface instead of a GL swap (see
     * present_surface); false once that failed, for good. */
    bool surface;
    uint32_t *staging; /* the composition read back, rows bottom first */
    size_t staging_size;
};

struct vw_outputs {
    int columns, rows; /* the wall's panels */
    bool *panel_on;    /* per panel (r·columns + c): rendered (--screens) */
    SDL_GLContext gl;
    SDL_Window *gl_window; /* the window the context was made with */
    struct output *list;
    int count;
};

/* Parses "0-8,12" into o->panel_on. */
static bool parse_screens(struct vw_outputs *o, const char *spec, struct vw_errors *errs)
{
    int n = o->columns * o->rows;
    for (int i = 0; i < n; i++)
        o->panel_on[i] = true;
    char why[96];
    if (!spec || vw_parse_panels(spec, n, o->panel_on, why, sizeof why))
        return true;
    vw_errors_add(errs, "--screens %s: %s", spec, why);
    return false;
}

/* The smallest block of panels holding every panel rendered. */
static struct vw_output_block selected_block(const struct vw_outputs *o)
{
    int x0 = o->columns, y0 = o->rows, x1 = -1, y1 = -1;
    for (int r = 0; r < o->rows; r++)
        for (int c = 0; c < o->columns; c++)
            if (o->panel_on[r * o->columns + c]) {
                x0 = c < x0 ? c : x0;
                y0 = r < y0 ? r : y0;
                x1 = c > x1 ? c : x1;
                y1 = r > y1 ? r : y1;
            }
    return (struct vw_output_block){x0, y0, x1 - x0 + 1, y1 - y0 + 1};
}

static SDL_Window *make_window(const char *title, int x, int y, int wd, int ht, Uint32 flags,
                               struct vw_errors *errs)
{
    SDL_Window *win = SDL_CreateWindow(title, x, y, wd, ht, flags | SDL_WINDOW_OPENGL);
    if (!win)
        vw_errors_add(errs, "cannot create a window: %s", SDL_GetError());
    return win;
}

static bool add_output(struct vw_outputs *o, SDL_Window *win, struct vw_output_block b)
{
    struct output *l = realloc(o->list, sizeof *l * (size_t)(o->count + 1));
    if (!l)
        return false;
    o->list = l;
    o->list[o->count++] = (struct output){.win = win, .block = b};
    return true;
}

static bool create_windows(struct vw_outputs *o, const struct vw_config *cfg,
                           enum vw_output_mode mode, struct vw_errors *errs)
{
    const char *title = cfg->name ? cfg->name : "vwall";
    if (mode == VW_OUTPUT_CONFIG) {
        const char *m = cfg->output ? cfg->output : "window";
        mode = strcmp(m, "fullscreen") == 0 ? VW_OUTPUT_FULLSCREEN
               : strcmp(m, "displays") == 0 ? VW_OUTPUT_DISPLAYS
                                            : VW_OUTPUT_WINDOW;
    }
    struct vw_output_block b = selected_block(o);
    int phys_w = b.cols * cfg->screen_w, phys_h = b.rows * cfg->screen_h;

    if (mode == VW_OUTPUT_OFFSCREEN) {
        /* A hidden window only holds the GL context; frames go to the targets. */
        SDL_Window *win = make_window(title, 0, 0, 16, 16, SDL_WINDOW_HIDDEN, errs);
        if (!win)
            return false;
        o->gl_window = win;
        return add_output(o, NULL, b);
    }
    if (mode == VW_OUTPUT_WINDOW) {
        SDL_Rect usable = {0, 0, 1280, 720};
        SDL_GetDisplayUsableBounds(0, &usable);
        double s = fmin(1.0, fmin(0.9 * usable.w / phys_w, 0.9 * usable.h / phys_h));
        int ww = (int)fmax(64, phys_w * s), wh = (int)fmax(36, phys_h * s);
        SDL_Window *win = make_window(title, SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, ww, wh,
                                      SDL_WINDOW_RESIZABLE | SDL_WINDOW_ALLOW_HIGHDPI, errs);
        if (!win)
            return false;
        o->gl_window = win;
        return add_output(o, win, b);
    }
    if (mode == VW_OUTPUT_FULLSCREEN) {
        /* One borderless window over the union of every display (Mosaic, Eyefinity, one X
         * screen across outputs). */
        SDL_Rect all = {0, 0, 0, 0};
        int nd = SDL_GetNumVideoDisplays();
        for (int d = 0; d < nd; d++) {
            SDL_Rect r;
            if (SDL_GetDisplayBounds(d, &r) == 0)
                SDL_UnionRect(&all, &r, &all);
        }
        if (all.w == 0) {
            all.w = phys_w;
            all.h = phys_h;
        }
        SDL_Window *win =
            make_window(title, all.x, all.y, all.w, all.h,
                        nd > 1 ? SDL_WINDOW_BORDERLESS : SDL_WINDOW_FULLSCREEN_DESKTOP, errs);
        if (!win)
            return false;
        o->gl_window = win;
        SDL_ShowCursor(SDL_DISABLE);
        return add_output(o, win, b);
    }
    /* VW_OUTPUT_DISPLAYS: one fullscreen window per display, panels as the wall file maps. */
    if (cfg->display_count == 0) {
        vw_errors_add(errs, "%s: output \"displays\" needs a wall.displays list", cfg->path);
        return false;
    }
    for (int i = 0; i < cfg->display_count; i++) {
        const struct vw_display_cfg *d = &cfg->displays[i];
        SDL_Rect r;
        if (SDL_GetDisplayBounds(d->display, &r) != 0) {
            vw_errors_add(errs, "%s: display %d: %s", cfg->path, d->display, SDL_GetError());
            return false;
        }
        SDL_Window *win =
            make_window(title, r.x, r.y, r.w, r.h, SDL_WINDOW_FULLSCREEN_DESKTOP, errs);
        if (!win)
            return false;
        if (!o->gl_window)
            o->gl_window = win;
        struct vw_output_block db = {d->panel_x, d->panel_y, d->columns, d->rows};
        if (!add_output(o, win, db))
            return false;
    }
    SDL_ShowCursor(SDL_DISABLE);
    return true;
}

struct vw_outputs *vw_outputs_create(const struct vw_config *cfg, enum vw_output_mode mode,
                                     const char *screens, bool vsync, struct vw_errors *errs)
{
    struct vw_outputs *o = calloc(1, sizeof *o);
    if (!o)
        abort();
    o->columns = cfg->columns;
    o->rows = cfg->rows;
    o->panel_on = calloc((size_t)(cfg->columns * cfg->rows), sizeof *o->panel_on);
    if (!o->panel_on)
        abort();
    if (!parse_screens(o, screens, errs))
        goto fail;
    if (SDL_InitSubSystem(SDL_INIT_VIDEO) != 0) {
        vw_errors_add(errs, "cannot start video (SDL driver %s): %s",
                      getenv("SDL_VIDEODRIVER") ? getenv("SDL_VIDEODRIVER") : "default",
                      SDL_GetError());
        goto fail;
    }
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_PROFILE_MASK, SDL_GL_CONTEXT_PROFILE_CORE);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, 3);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MINOR_VERSION, 3);
    SDL_GL_SetAttribute(SDL_GL_DOUBLEBUFFER, 1);
    SDL_GL_SetAttribute(SDL_GL_SHARE_WITH_CURRENT_CONTEXT, 1);
    if (!create_windows(o, cfg, mode, errs))
        goto fail;
    o->gl = SDL_GL_CreateContext(o->gl_window);
    if (!o->gl) {
        vw_errors_add(errs, "cannot create an OpenGL 3.3 core context: %s", SDL_GetError());
        goto fail;
    }
    SDL_GL_SetSwapInterval(vsync ? 1 : 0);
    vw_gl_keep_libraries_loaded();
    vw_info("video driver %s, OpenGL %s (%s)", SDL_GetCurrentVideoDriver(),
            (const char *)glGetString(GL_VERSION), (const char *)glGetString(GL_RENDERER));
    return o;
fail:
    vw_outputs_destroy(o);
    return NULL;
}

void vw_outputs_destroy(struct vw_outputs *o)
{
    if (!o)
        return;
    vw_gl_keep_libraries_loaded(); /* also on a failed start */
    /* GL objects go while the context is current on a window that still exists (with one
     * window per display, the last drawn may be any of them), then the windows. */
    if (o->gl) {
        SDL_GL_MakeCurrent(o->gl_window, o->gl);
        for (int i = 0; i < o->count; i++)
            vw_target_destroy(o->list[i].target);
        SDL_GL_MakeCurrent(NULL, NULL);
        SDL_GL_DeleteContext(o->gl);
    }
    for (int i = 0; i < o->count; i++) {
        if (o->list[i].win && o->list[i].win != o->gl_window)
            SDL_DestroyWindow(o->list[i].win);
        free(o->list[i].staging);
    }
    if (o->gl_window)
        SDL_DestroyWindow(o->gl_window);
    if (SDL_WasInit(SDL_INIT_VIDEO))
        SDL_QuitSubSystem(SDL_INIT_VIDEO);
    free(o->list);
    free(o->panel_on);
    free(o);
}

void vw_outputs_release_targets(struct vw_outputs *o)
{
    for (int i = 0; i < o->count; i++) {
        vw_target_destroy(o->list[i].target);
        o->list[i].target = NULL;
    }
}

void vw_outputs_make_current(struct vw_outputs *o)
{
    SDL_GL_MakeCurrent(o->gl_window, o->gl);
}

void vw_outputs_choose_presenter(struct vw_outputs *o, bool cpu_compose, bool present_gl)
{
    /* Software GL on x11: windows through their surfaces (present_surface). SDL would
     * otherwise back a window surface with a texture of its own GL renderer. */
    const char *driver = SDL_GetCurrentVideoDriver();
    bool surfaces = !present_gl && cpu_compose && driver && strcmp(driver, "x11") == 0;
    if (surfaces)
        SDL_SetHint(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0");
    for (int i = 0; i < o->count; i++)
        o->list[i].surface = surfaces && o->list[i].win;
    if (surfaces && vw_outputs_have_windows(o))
        vw_info("windows presented through their x11 surfaces (--present gl for a GL swap)");
}

int vw_outputs_count(const struct vw_outputs *o)
{
    return o->count;
}

bool vw_outputs_have_windows(const struct vw_outputs *o)
{
    return o->count > 0 && o->list[0].win;
}

struct vw_output_block vw_outputs_block(const struct vw_outputs *o, int i)
{
    return o->list[i].block;
}

bool vw_outputs_panel_on(const struct vw_outputs *o, int col, int row)
{
    return col >= 0 && row >= 0 && col < o->columns && row < o->rows &&
           o->panel_on[row * o->columns + col];
}

int vw_outputs_panels_on(const struct vw_outputs *o)
{
    int n = 0;
    for (int i = 0; i < o->columns * o->rows; i++)
        n += o->panel_on[i];
    return n;
}

bool vw_outputs_begin(struct vw_outputs *o, int i, struct vw_renderer *r, int *fw, int *fh,
                      bool *full)
{
    struct output *out = &o->list[i];
    if (out->win) {
        SDL_GL_MakeCurrent(out->win, o->gl);
        SDL_GL_GetDrawableSize(out->win, fw, fh);
    }
    if (!out->target || vw_target_width(out->target) != *fw ||
        vw_target_height(out->target) != *fh) {
        vw_target_destroy(out->target);
        struct vw_errors errs;
        vw_errors_init(&errs);
        out->target = vw_target_create(r, *fw, *fh, &errs);
        if (!out->target)
            vw_err("output: %s", vw_errors_first(&errs));
        vw_errors_finish(&errs);
        *full = true;
        if (!out->target)
            return false;
    }
    vw_target_bind(out->target);
    return true;
}

/* With software GL a window costs llvmpipe a full-window copy quad and a swap on every
 * redraw. On x11 the finished composition can instead go straight to the window's SDL
 * surface (an XImage, shared memory when the server has it): read back with glReadPixels,
 * rows flipped and R/B swapped for the X visual, put with SDL_UpdateWindowSurface. false
 * when this output can't (another surface format, no surface): the GL copy then. */
static bool present_surface(struct output *o)
{
    if (!o->surface)
        return false;
    int fw = vw_target_width(o->target), fh = vw_target_height(o->target);
    SDL_Surface *s = SDL_GetWindowSurface(o->win);
    bool bgrx = s && (s->format->format == SDL_PIXELFORMAT_RGB888 ||
                      s->format->format == SDL_PIXELFORMAT_ARGB8888);
    if (!s || !bgrx || s->w != fw || s->h != fh) {
        if (!s || !bgrx) {
            vw_info("output: window surface %s; presenting through GL",
                    s ? SDL_GetPixelFormatName(s->format->format) : SDL_GetError());
            o->surface = false;
        }
        return false; /* a size between a resize and its event: GL this once */
    }
    size_t need = (size_t)fw * (size_t)fh;
    if (o->staging_size < need) {
        free(o->staging);
        o->staging_size = 0;
        if (!(o->staging = malloc(need * 4)))
            return false;
        o->staging_size = need;
    }
    vw_target_read_bottom_up(o->target, (uint8_t *)o->staging);
    if (SDL_MUSTLOCK(s) && SDL_LockSurface(s) != 0)
        return false;
    for (int y = 0; y < fh; y++) {
        const uint32_t *in = o->staging + (size_t)(fh - 1 - y) * (size_t)fw;
        uint32_t *out = (uint32_t *)((uint8_t *)s->pixels + (size_t)y * (size_t)s->pitch);
        for (int x = 0; x < fw; x++) { /* R,G,B,A bytes to B,G,R,X */
            uint32_t v = in[x];
            out[x] = (v & 0xff00ff00u) | (v & 0xffu) << 16 | (v >> 16 & 0xffu);
        }
    }
    if (SDL_MUSTLOCK(s))
        SDL_UnlockSurface(s);
    if (SDL_UpdateWindowSurface(o->win) != 0) {
        vw_info("output: window surface update failed (%s); presenting through GL", SDL_GetError());
        o->surface = false;
        return false;
    }
    return true;
}

void vw_outputs_present(struct vw_outputs *o, int i, struct vw_renderer *r)
{
    struct output *out = &o->list[i];
    if (out->win) {
        if (!present_surface(out)) {
            vw_target_blit_to_window(r, out->target);
            SDL_GL_SwapWindow(out->win);
        }
    } else {
        glFinish(); /* what a swap would wait for: the frame really drawn */
    }
    vw_target_bind(NULL);
}
