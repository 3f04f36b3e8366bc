/* outputs: where the wall is shown — SDL windows (one, one over every display, one per
 * display) or, offscreen, only framebuffers — the GL context they share, which panels are
 * rendered (--screens), and presenting a finished composition. Main thread only.
 *
 * Each output shows a block of panels. The wall composes each output into that output's
 * target (a GL framebuffer texture, kept between redraws so that only changed tiles are
 * drawn), then presents it: a GL copy and swap, or on x11 with software GL the window's own
 * surface. */
#ifndef VW_OUTPUTS_H
#define VW_OUTPUTS_H

#include <stdbool.h>

#include "base/errors.h"
#include "model/config.h"

struct vw_renderer;
struct vw_target;
struct vw_outputs;

enum vw_output_mode {
    VW_OUTPUT_CONFIG,     /* what the wall file says (default "window") */
    VW_OUTPUT_WINDOW,     /* one resizable window, wall scaled to fit */
    VW_OUTPUT_FULLSCREEN, /* one borderless window over the whole desktop */
    VW_OUTPUT_DISPLAYS,   /* one fullscreen window per display, panels mapped in the wall file */
    VW_OUTPUT_OFFSCREEN,  /* no window shown (SDL offscreen driver): screenshots, tests, benches */
};

/* The block of panels an output shows. */
struct vw_output_block {
    int panel_x, panel_y, cols, rows;
};

/* Starts SDL video, makes the windows and an OpenGL 3.3 core context current. `screens`
 * ("0-8,12", NULL: all) selects the panels rendered. NULL with reasons in errs. */
struct vw_outputs *vw_outputs_create(const struct vw_config *cfg, enum vw_output_mode mode,
                                     const char *screens, bool vsync, struct vw_errors *errs);
/* Frees the targets (with the context current), the context and the windows. NULL ok. Call
 * it after every other GL object of the context is gone. */
void vw_outputs_destroy(struct vw_outputs *o);

/* Frees the targets; the context must be current (the renderer's objects go after them). */
void vw_outputs_release_targets(struct vw_outputs *o);
/* Makes the shared context current (on a window that exists). */
void vw_outputs_make_current(struct vw_outputs *o);
/* Once the renderer knows its composition: windows on x11 with the CPU composition are
 * presented through their surfaces unless `present_gl`. Logs what it chose. */
void vw_outputs_choose_presenter(struct vw_outputs *o, bool cpu_compose, bool present_gl);

int vw_outputs_count(const struct vw_outputs *o);
bool vw_outputs_have_windows(const struct vw_outputs *o);
struct vw_output_block vw_outputs_block(const struct vw_outputs *o, int i);
/* Whether panel (col, row) is rendered (--screens), and how many are. */
bool vw_outputs_panel_on(const struct vw_outputs *o, int col, int row);
int vw_outputs_panels_on(const struct vw_outputs *o);

/* Output i: makes the context current on it and binds its target, (re)made at the
 * drawable's size. Fills the size; *full is set when the target is new (it holds nothing).
 * false when the target can't be made (logged). */
bool vw_outputs_begin(struct vw_outputs *o, int i, struct vw_renderer *r, int *fw, int *fh,
                      bool *full);
/* Presents what output i's target holds (a window), or waits for it to be drawn
 * (offscreen), and unbinds it. */
void vw_outputs_present(struct vw_outputs *o, int i, struct vw_renderer *r);

#endif
