/* scale420: 8-bit 4:2:0 pictures (yuv420p, yuvj420p, NV12: what H.264 and H.265 cameras
 * send) scaled to any size and converted to RGBA on the CPU, for the software-GL
 * composition (src/cpu_picture.c).
 *
 * libswscale's scaled paths cost 1 to 2.5 ns per output pixel on our test machine, more
 * than decoding at 9 streams (docs/performance.md). Two scalers of our own instead:
 *   - exactly half size (1080p on 960x540, 720p on 640x360): a 2x2 box, with the chroma
 *     planes already at the tile's size;
 *   - any other size: separable, an area filter (each output pixel the mean of the source
 *     area it covers, so no aliasing however small) along an axis that shrinks, bilinear
 *     along one that grows; first down the columns for each output row, then along rows.
 * Both convert with the frame's matrix (BT.601/709/2020, limited or full range) in fixed
 * point, within a code of the same computed in doubles, 16 pixels at a time with AVX2
 * (x86-64 CPUs since 2013-15). Without AVX2 the half size has plain C rows (about as fast
 * as libswscale) and any other size is left to libswscale, which is faster there than
 * plain C could be. */
#ifndef VW_SCALE420_H
#define VW_SCALE420_H

#include <stdbool.h>
#include <stdint.h>

/* Y'CbCr -> R'G'B' gains in fixed point, for the C rows and for the AVX2 ones. */
struct vw_yuv_matrix {
    int y_off;                          /* 16 (limited range) or 0 (full) */
    int cy, crv, cgu, cgv, cbu;         /* C: gains x 4096 */
    int16_t q_cy;                       /* AVX2: luma gain x 16384 */
    int16_t q_crv, q_cgu, q_cgv, q_cbu; /* AVX2: chroma gains x 8192 (all below 2.2) */
};

/* The gains of a matrix (AVCOL_SPC_*; see vw_colour_kr_kb) and range. */
struct vw_yuv_matrix vw_yuv_matrix(int matrix, bool full);

/* A crop of an 8-bit 4:2:0 picture: each plane at the crop's first sample (even x and y);
 * its size is the scaler's (vw_scale420_half's dw, dh doubled, or the plan's). */
struct vw_yuv420 {
    const uint8_t *y, *cb, *cr; /* NV12: cr = cb + 1 */
    int y_stride, cb_stride, cr_stride;
    int cstep; /* bytes from one chroma sample to the next: 1, or 2 for NV12 */
};

/* Whether this CPU runs the AVX2 rows. */
bool vw_scale420_have_avx2(void);

/* src at exactly half size (src->w = 2 dw, src->h = 2 dh), RGBA into dst in rows of
 * `stride` bytes (a multiple of 64), bottom row first. */
void vw_scale420_half(const struct vw_yuv420 *src, int dw, int dh, uint8_t *dst, int stride,
                      const struct vw_yuv_matrix *m, bool avx2);

/* A plan for one source crop size and output size: the filter taps of each axis and the
 * rows it works in. Made once per size, reused for every frame. NULL without AVX2 (see
 * above) or memory. */
struct vw_scale420;
struct vw_scale420 *vw_scale420_create(int sw, int sh, int dw, int dh);
void vw_scale420_destroy(struct vw_scale420 *s); /* NULL ok */

/* src (s's source size) at s's output size, RGBA into dst as vw_scale420_half writes it;
 * rows are written up to 8 pixels past dw, within the 64-byte padding of `stride`. */
void vw_scale420_run(struct vw_scale420 *s, const struct vw_yuv420 *src, uint8_t *dst, int stride,
                     const struct vw_yuv_matrix *m);

#endif
