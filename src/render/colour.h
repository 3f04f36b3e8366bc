/* colour: which Y'CbCr matrix a frame was encoded with, and its Kr/Kb, shared by the
 * shaders' matrices (src/renderer.c) and the CPU composition (src/cpu_picture.c). */
#ifndef VW_COLOUR_H
#define VW_COLOUR_H

struct AVFrame;

/* The frame's matrix (AVCOL_SPC_*): its own tag when it is one we know; an unspecified
 * one is BT.709 for HD (720 lines and more), BT.601 below. */
int vw_colour_matrix(const struct AVFrame *f);
/* Kr and Kb of a matrix (AVCOL_SPC_*); BT.601 for any other. */
void vw_colour_kr_kb(int matrix, double *kr, double *kb);

#endif
