/* cpu_picture's half-size path (a 2x2 box filter and a fixed-point matrix, in AVX2 where the
 * CPU has it and in plain C) against the same conversion done in doubles, on every pixel of
 * frames of random samples: each 8-bit 4:2:0 layout, matrix and range, whole and cropped,
 * and widths that leave a tail after the 16-pixel blocks. No GL: the renderer's tests check
 * the pictures on a wall. */
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "colour.h"
#include "cpu_picture.h"

static uint32_t seed = 12345;

static uint8_t rnd8(void)
{
    seed = seed * 1103515245u + 12345u;
    return (uint8_t)(seed >> 16);
}

static AVFrame *random_frame(enum AVPixelFormat fmt, int w, int h, enum AVColorSpace cs,
                             enum AVColorRange range)
{
    AVFrame *f = av_frame_alloc();
    f->format = fmt;
    f->width = w;
    f->height = h;
    f->colorspace = cs;
    f->color_range = range;
    if (av_frame_get_buffer(f, 0) < 0) {
        av_frame_free(&f);
        return NULL;
    }
    for (int i = 0; i < 4 && f->data[i]; i++) {
        int rows = i == 0 ? h : h / 2;
        for (int y = 0; y < rows; y++)
            for (int x = 0; x < f->linesize[i]; x++)
                f->data[i][y * f->linesize[i] + x] = rnd8();
    }
    return f;
}

static double clampd(double v)
{
    return v < 0 ? 0 : v > 255 ? 255 : v;
}

/* Output pixel (ox, oy) of the crop at (x0, y0), top row first, in doubles. */
static void reference(const AVFrame *f, int x0, int y0, int ox, int oy, double rgb[3])
{
    bool nv12 = f->format == AV_PIX_FMT_NV12;
    bool full = f->format == AV_PIX_FMT_YUVJ420P || f->color_range == AVCOL_RANGE_JPEG;
    int lx = x0 + 2 * ox, ly = y0 + 2 * oy, cx = x0 / 2 + ox, cy = y0 / 2 + oy;
    const uint8_t *l = f->data[0];
    int ls = f->linesize[0];
    double y = (l[ly * ls + lx] + l[ly * ls + lx + 1] + l[(ly + 1) * ls + lx] +
                l[(ly + 1) * ls + lx + 1]) /
               4.0;
    double u =
        nv12 ? f->data[1][cy * f->linesize[1] + 2 * cx] : f->data[1][cy * f->linesize[1] + cx];
    double v =
        nv12 ? f->data[1][cy * f->linesize[1] + 2 * cx + 1] : f->data[2][cy * f->linesize[2] + cx];
    double kr, kb;
    vw_colour_kr_kb(vw_colour_matrix(f), &kr, &kb);
    double kg = 1 - kr - kb;
    y = full ? y : (y - 16) * 255.0 / 219.0;
    u = full ? u - 128 : (u - 128) * 255.0 / 224.0;
    v = full ? v - 128 : (v - 128) * 255.0 / 224.0;
    rgb[0] = clampd(y + 2 * (1 - kr) * v);
    rgb[1] = clampd(y - 2 * (1 - kb) * kb / kg * u - 2 * (1 - kr) * kr / kg * v);
    rgb[2] = clampd(y + 2 * (1 - kb) * u);
}

/* The crop [x0, x1) x [y0, y1) of f (even pixel numbers) at half size: every value within a
 * code of the reference. */
static void check_half(const AVFrame *f, int x0, int y0, int x1, int y1, bool simd,
                       const char *what)
{
    struct vw_cpu_picture *p = vw_cpu_picture_create();
    vw_cpu_picture_use_simd(p, simd);
    CHECK(vw_cpu_picture_set_frame(p, f));
    double w = f->width, h = f->height;
    struct vw_cpu_crop crop = {x0 / w, y0 / h, x1 / w, y1 / h};
    int dw = (x1 - x0) / 2, dh = (y1 - y0) / 2;
    int stride = 0;
    const uint8_t *px = vw_cpu_picture_scaled(p, crop, dw, dh, &stride);
    CHECK(px != NULL);
    if (!px) {
        vw_cpu_picture_destroy(p);
        return;
    }
    int worst = 0, bad = 0;
    for (int oy = 0; oy < dh; oy++)
        for (int ox = 0; ox < dw; ox++) {
            double want[3];
            reference(f, x0, y0, ox, oy, want);
            const uint8_t *got =
                px + (size_t)(dh - 1 - oy) * stride + 4 * ox; /* bottom row first */
            for (int c = 0; c < 3; c++) {
                int d = abs(got[c] - (int)(want[c] + 0.5));
                worst = d > worst ? d : worst;
                bad += d > 1;
            }
            bad += got[3] != 255;
        }
    CHECK(bad == 0);
    if (bad)
        fprintf(stderr, "  ^ %s (%s): %d values off by more than 1 code, worst %d\n", what,
                simd ? "simd" : "c", bad, worst);
    vw_cpu_picture_destroy(p);
}

int main(void)
{
    static const struct {
        enum AVPixelFormat fmt;
        enum AVColorSpace cs;
        enum AVColorRange range;
        const char *name;
    } kinds[] = {
        {AV_PIX_FMT_YUV420P, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG, "yuv420p bt709 limited"},
        {AV_PIX_FMT_YUV420P, AVCOL_SPC_SMPTE170M, AVCOL_RANGE_MPEG, "yuv420p bt601 limited"},
        {AV_PIX_FMT_YUV420P, AVCOL_SPC_BT2020_NCL, AVCOL_RANGE_MPEG, "yuv420p bt2020 limited"},
        {AV_PIX_FMT_YUV420P, AVCOL_SPC_BT709, AVCOL_RANGE_JPEG, "yuv420p bt709 full"},
        {AV_PIX_FMT_YUVJ420P, AVCOL_SPC_SMPTE170M, AVCOL_RANGE_UNSPECIFIED, "yuvj420p bt601"},
        {AV_PIX_FMT_NV12, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG, "nv12 bt709 limited"},
        {AV_PIX_FMT_NV12, AVCOL_SPC_BT2020_NCL, AVCOL_RANGE_JPEG, "nv12 bt2020 full"},
    };
    /* widths: whole 16-pixel blocks (1280 -> 640), a tail of 5 (138 -> 69), under one block */
    static const int sizes[][2] = {{1280, 720}, {138, 42}, {22, 8}};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            AVFrame *f =
                random_frame(kinds[k].fmt, sizes[s][0], sizes[s][1], kinds[k].cs, kinds[k].range);
            CHECK(f != NULL);
            if (!f)
                continue;
            char what[96];
            snprintf(what, sizeof what, "%s %dx%d", kinds[k].name, f->width, f->height);
            for (int simd = 0; simd < 2; simd++) {
                int w = f->width, h = f->height;
                check_half(f, 0, 0, w, h, simd, what);
                /* a crop that starts off the origin (fit = "fill" of a wider tile) */
                check_half(f, w / 4 & ~1, h / 8 & ~1, w - (w / 4 & ~1), h - (h / 8 & ~1), simd,
                           what);
            }
            av_frame_free(&f);
        }

    /* Extreme samples: the saturating 16-bit sums of the SIMD rows must still clamp, not
     * wrap. Full-scale luma with the chroma at both ends, and zeros. */
    static const uint8_t extremes[][3] = {{255, 255, 255}, {255, 0, 0}, {0, 255, 255}, {0, 0, 0},
                                          {255, 0, 255},   {0, 255, 0}, {16, 240, 16}};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (size_t e = 0; e < sizeof extremes / sizeof extremes[0]; e++) {
            AVFrame *f = random_frame(kinds[k].fmt, 64, 4, kinds[k].cs, kinds[k].range);
            CHECK(f != NULL);
            if (!f)
                continue;
            for (int i = 0; i < 3 && f->data[i]; i++)
                for (int y = 0; y < (i ? 2 : 4); y++)
                    for (int x = 0; x < f->linesize[i]; x++) {
                        uint8_t val = extremes[e][i];
                        if (kinds[k].fmt == AV_PIX_FMT_NV12 && i == 1)
                            val = extremes[e][1 + (x & 1)];
                        f->data[i][y * f->linesize[i] + x] = val;
                    }
            char what[96];
            snprintf(what, sizeof what, "%s, samples %d,%d,%d", kinds[k].name, extremes[e][0],
                     extremes[e][1], extremes[e][2]);
            for (int simd = 0; simd < 2; simd++)
                check_half(f, 0, 0, 64, 4, simd, what);
            av_frame_free(&f);
        }
    return check_summary("cpu_picture");
}
