/* png: writes RGBA pixels as a PNG file with FFmpeg's PNG encoder. Any thread. */
#ifndef VW_PNG_H
#define VW_PNG_H

#include <stdbool.h>
#include <stdint.h>

#include "base/errors.h"

/* `rgba`: w·h·4 bytes, top row first. The file is written as a new temporary file in the
 * same folder and renamed to `path`, so whatever `path` was (a hard link, a symlink) is
 * replaced, never written through. false with the reason in errs (no file left behind). */
bool vw_png_write(const char *path, const uint8_t *rgba, int w, int h, struct vw_errors *errs);

/* Reads a PNG (any pixel format FFmpeg decodes) into a new RGBA buffer (caller frees).
 * For tests and tools. NULL with the reason in errs. */
uint8_t *vw_png_read(const char *path, int *w, int *h, struct vw_errors *errs);

#endif
