/* cpu_picture: a tile's picture scaled and converted to RGBA on the CPU, for software GL.
 *
 * With a GPU, the renderer uploads the YUV planes and a fragment shader samples, scales and
 * converts them. With software GL (Mesa's llvmpipe) every fragment of that shader runs on
 * the CPU, in generic JIT-compiled code: at 9 x 720p on a 1920x1080 wall it cost more than
 * decoding the streams. Here the picture is scaled and converted on the CPU instead, by
 * SIMD code (src/scale420.c for the 8-bit 4:2:0 that cameras send, libswscale for any
 * other format), and the result is written straight into the wall's framebuffer texture,
 * so llvmpipe rasterises nothing for the picture (docs/performance.md).
 *
 * A vw_cpu_picture holds the last frame (the decoder's own buffers, taken from its mailbox,
 * or a copy) and the last scaled result, which is reused while the frame and the size on
 * screen stay the same. No allocation per frame: buffers are sized when the frame or tile
 * size changes, and a taken frame's buffers go back to the decoder's pool when the next
 * frame replaces it. */
#ifndef VW_CPU_PICTURE_H
#define VW_CPU_PICTURE_H

#include <stdbool.h>
#include <stdint.h>

struct AVFrame;
struct vw_cpu_picture;

struct vw_cpu_picture *vw_cpu_picture_create(void);
void vw_cpu_picture_destroy(struct vw_cpu_picture *p); /* NULL ok */

/* Keeps a copy of `f` (any software pixel format libswscale reads). false, keeping the
 * previous picture, for a hardware frame or when memory runs out. */
bool vw_cpu_picture_set_frame(struct vw_cpu_picture *p, const struct AVFrame *f);
/* The same for a frame the caller is done with: keeps f's buffers instead of a copy (f is
 * left blank), or copies a frame that is not reference-counted. The buffers are only read:
 * a decoder may go on using them as a reference picture. */
bool vw_cpu_picture_take_frame(struct vw_cpu_picture *p, struct AVFrame *f);
/* Whether src/scale420.c may use its AVX2 rows (where the CPU has AVX2); on by default.
 * Off, a half-size picture takes its plain C rows and any other size libswscale, as on a
 * CPU without AVX2: tests turn it off to check that. */
void vw_cpu_picture_use_simd(struct vw_cpu_picture *p, bool on);
/* Shows the picture turned clockwise by `degrees` (0, 90, 180, 270; see vw_picture_rotation):
 * vw_cpu_picture_scaled's crop and size are then the upright picture's. */
void vw_cpu_picture_set_rotation(struct vw_cpu_picture *p, int degrees);
int vw_cpu_picture_width(const struct vw_cpu_picture *p);
int vw_cpu_picture_height(const struct vw_cpu_picture *p);

/* The part of the picture to show, as fractions of its width and height (0..1): the whole
 * picture, or a centred crop for fit = "fill". */
struct vw_cpu_crop {
    double x0, y0, x1, y1;
};

/* The picture's `crop` scaled to dw x dh pixels, RGBA, in rows of *stride bytes, bottom
 * row first (as a GL texture holds it), with the frame's matrix (BT.601/709/2020) and
 * range. From 8-bit 4:2:0 (yuv420p, yuvj420p, nv12): src/scale420.c, a 2x2 box at exactly
 * half size, else (with AVX2) an area filter where the picture shrinks and bilinear where it
 * grows, within a code of exact. Anything else: libswscale, SWS_BILINEAR (its filter widens with
 * the downscale, so a 4:1 downscale averages instead of aliasing), up to 5 codes dark.
 * Reused while neither the frame nor the request changed. NULL without a frame or when
 * memory runs out. */
const uint8_t *vw_cpu_picture_scaled(struct vw_cpu_picture *p, struct vw_cpu_crop crop, int dw,
                                     int dh, int *stride);

#endif
