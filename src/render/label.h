/* label: UTF-8 text → GL textures through SDL2_ttf, with a small cache.
 * Render thread only, with the GL context current.
 *
 * A label is white text on a transparent background (glyph coverage in the alpha channel),
 * rendered at its real pixel size. The cache is keyed by (text, pixel size); an entry that
 * was not used for `max_idle` frames is freed by vw_label_cache_end_frame. */
#ifndef VW_LABEL_H
#define VW_LABEL_H

#include <stdbool.h>
#include <stdint.h>

struct vw_label_cache; /* opaque */

/* A cached label texture (GL_TEXTURE_2D, RGBA). Owned by the cache; the pointer is valid
 * until the next vw_label_get or vw_label_cache_end_frame. */
struct vw_label {
    unsigned int tex; /* GLuint */
    int w, h;         /* pixels */
};

/* `font_path`: a TTF/OTF/TTC file, or NULL to find a CJK-capable sans-serif font with
 * fontconfig. Never fails for want of a font: without one, vw_label_get returns NULL and
 * one warning is logged. NULL only when out of memory or SDL_ttf can't start. */
struct vw_label_cache *vw_label_cache_create(const char *font_path, int max_idle);
void vw_label_cache_destroy(struct vw_label_cache *c); /* NULL ok; frees the textures */

/* Whether a font was found (labels can be drawn at all). */
bool vw_label_cache_has_font(const struct vw_label_cache *c);

/* The texture of `text` (UTF-8) with a line height of about `px` pixels; rendered on first
 * use, then taken from the cache. NULL for empty text, no font or a rendering failure. */
const struct vw_label *vw_label_get(struct vw_label_cache *c, const char *text, int px);

/* Ends a frame: frees entries not used for more than max_idle frames. */
void vw_label_cache_end_frame(struct vw_label_cache *c);

/* Number of cached entries (for tests). */
int vw_label_cache_count(const struct vw_label_cache *c);

#endif
