/* colour: which Y'CbCr matrix a frame was encoded with, and its Kr/Kb, shared by the
 * shaders' matrices (src/renderer.c) and the CPU composition (src/cpu_picture.c). */
#ifndef VW_COLOUR_H
#define VW_COLOUR_H

#include <stdbool.h>

struct AVFrame;

/* The frame's matrix (AVCOL_SPC_*): its own tag when it is one we know; an unspecified
 * one is BT.709 for HD (720 lines and more), BT.601 below. */
int vw_colour_matrix(const struct AVFrame *f);
/* Whether the frame's samples are full range, as FFmpeg reads them (libswscale's defaults,
 * the reference both compositions follow): RGB, palette, Bayer, float (0 to 1) and yuvj*
 * formats always;
 * gray formats unless tagged AVCOL_RANGE_MPEG (an untagged gray picture shows its true
 * values); other Y'CbCr only when tagged AVCOL_RANGE_JPEG. */
bool vw_colour_full_range(const struct AVFrame *f);
/* How far the frame must be turned clockwise to show upright: 0, 90, 180 or 270, from its
 * display matrix (AV_FRAME_DATA_DISPLAYMATRIX, which H.264/HEVC decoders attach from the
 * stream's display-orientation SEI), rounded to a quarter turn, as ffmpeg's autorotate reads
 * it. A frame without one gets `keep`: the SEI comes once and holds for the frames after it,
 * so callers pass the stream's last rotation while the frame size stays. Mirroring in the
 * matrix is not shown. */
int vw_picture_rotation(const struct AVFrame *f, int keep);
/* Kr and Kb of a matrix (AVCOL_SPC_*); BT.601 for any other. */
void vw_colour_kr_kb(int matrix, double *kr, double *kb);

#endif
