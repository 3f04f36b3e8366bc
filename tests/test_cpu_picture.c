/* cpu_picture's own scalers for 8-bit 4:2:0 (src/scale420.c) against the same filter and
 * conversion done in doubles, on every pixel of frames of random samples: the half-size
 * path in AVX2 and in plain C, and any other size (AVX2), for each layout, matrix and
 * range, whole and cropped, with widths that leave a tail after the 16-pixel blocks, and
 * extreme samples. No GL: the renderer's tests check the pictures on a wall. */
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "render/colour.h"
#include "render/cpu_picture.h"
#include "render/scale420.h"

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

/* The weight of source sample j in output sample o, scaling n samples spanning `extent` to
 * n_out: the overlap of the sample with the output's area when shrinking, a tent around
 * the output's centre when growing. */
static double weight(int o, int j, int n, double extent, int n_out)
{
    double r = extent / n_out;
    if (r > 1) {
        double lo = fmax(o * r, j), hi = fmin((o + 1) * r, j + 1.0);
        return hi > lo ? (hi - lo) / r : 0;
    }
    double c = (o + 0.5) * r - 0.5;
    c = c < 0 ? 0 : c > n - 1 ? n - 1 : c;
    return fmax(0, 1 - fabs(j - c));
}

/* One plane's sample at output (ox, oy), in doubles: the crop's w x h samples (spanning
 * ew x eh of them), `step` bytes apart, weighted down and across. */
static double plane_at(const uint8_t *p, int stride, int step, int w, int h, double ew, double eh,
                       int ox, int oy, int dw, int dh)
{
    /* weights are zero more than one output step (plus a sample) from the output */
    int j0 = (int)floor(ox * ew / dw - 2), j1 = (int)ceil((ox + 1) * ew / dw + 2);
    int i0 = (int)floor(oy * eh / dh - 2), i1 = (int)ceil((oy + 1) * eh / dh + 2);
    double sum = 0;
    for (int i = i0 < 0 ? 0 : i0; i < h && i <= i1; i++) {
        double wy = weight(oy, i, h, eh, dh);
        if (wy == 0)
            continue;
        for (int j = j0 < 0 ? 0 : j0; j < w && j <= j1; j++) {
            double wx = weight(ox, j, w, ew, dw);
            if (wx != 0)
                sum += wy * wx * p[i * stride + j * step];
        }
    }
    return sum;
}

/* Output pixel (ox, oy) of the crop [x0, x0 + sw) x [y0, y0 + sh) at dw x dh, top row
 * first, in doubles. */
static void reference(const AVFrame *f, int x0, int y0, int sw, int sh, int dw, int dh, int ox,
                      int oy, double rgb[3])
{
    bool nv12 = f->format == AV_PIX_FMT_NV12;
    bool full = f->format == AV_PIX_FMT_YUVJ420P || f->color_range == AVCOL_RANGE_JPEG;
    int cw = (sw + 1) / 2, ch = (sh + 1) / 2, step = nv12 ? 2 : 1;
    const uint8_t *cb = f->data[1] + (y0 / 2) * f->linesize[1] + (x0 / 2) * step;
    const uint8_t *cr = nv12 ? cb + 1 : f->data[2] + (y0 / 2) * f->linesize[2] + x0 / 2;
    int cr_stride = nv12 ? f->linesize[1] : f->linesize[2];
    double y = plane_at(f->data[0] + y0 * f->linesize[0] + x0, f->linesize[0], 1, sw, sh, sw, sh,
                        ox, oy, dw, dh);
    double u = plane_at(cb, f->linesize[1], step, cw, ch, sw / 2.0, sh / 2.0, ox, oy, dw, dh);
    double v = plane_at(cr, cr_stride, step, cw, ch, sw / 2.0, sh / 2.0, ox, oy, dw, dh);
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

/* The crop [x0, x1) x [y0, y1) of f (x0, y0 even) at dw x dh: every value within a code of
 * the reference. */
static void check_scaled(const AVFrame *f, int x0, int y0, int x1, int y1, int dw, int dh,
                         bool simd, const char *what)
{
    struct vw_cpu_picture *p = vw_cpu_picture_create();
    vw_cpu_picture_use_simd(p, simd);
    CHECK(vw_cpu_picture_set_frame(p, f));
    double w = f->width, h = f->height;
    struct vw_cpu_crop crop = {x0 / w, y0 / h, x1 / w, y1 / h};
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
            reference(f, x0, y0, x1 - x0, y1 - y0, dw, dh, ox, oy, want);
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
        fprintf(stderr,
                "  ^ %s, crop %d,%d-%d,%d to %dx%d (%s): %d values off by more than 1, worst %d\n",
                what, x0, y0, x1, y1, dw, dh, simd ? "simd" : "c", bad, worst);
    vw_cpu_picture_destroy(p);
}

/* Without AVX2 (or with it turned off) sizes other than half are libswscale's: a picture
 * comes out, opaque. */
static bool libswscale_draws(const AVFrame *f, int dw, int dh)
{
    struct vw_cpu_picture *p = vw_cpu_picture_create();
    vw_cpu_picture_use_simd(p, false);
    int stride = 0;
    const uint8_t *px = NULL;
    if (vw_cpu_picture_set_frame(p, f))
        px = vw_cpu_picture_scaled(p, (struct vw_cpu_crop){0, 0, 1, 1}, dw, dh, &stride);
    bool ok = px && px[3] == 255 && px[(size_t)(dh - 1) * stride + 4 * (dw - 1) + 3] == 255;
    vw_cpu_picture_destroy(p);
    return ok;
}

static void check_half(const AVFrame *f, int x0, int y0, int x1, int y1, bool simd,
                       const char *what)
{
    check_scaled(f, x0, y0, x1, y1, (x1 - x0) / 2, (y1 - y0) / 2, simd, what);
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
    /* Big frames for one planar and one NV12 kind (the two memory layouts), small ones for
     * every matrix and range: the test stays quick under the sanitizers' -O0. */
    const size_t planar = 0, nv12 = 5;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            if (sizes[s][0] * sizes[s][1] > 100000 && k != planar && k != nv12)
                continue;
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

    bool have_avx2 = vw_scale420_have_avx2();
    if (!have_avx2)
        fprintf(stderr, "cpu_picture: this CPU has no AVX2: sizes other than half are drawn by "
                        "libswscale, and only checked to be drawn\n");
    /* Any other size: shrunk by 3, by a fraction (a window at 90 %), by ~30 (many taps),
     * grown, one axis only, odd crops and sizes. */
    static const struct {
        int w, h, x0, y0, x1, y1, dw, dh;
    } scales[] = {
        {1920, 1080, 0, 0, 1920, 1080, 640, 360}, /* 1080p in a cell of 3x3 on one panel */
        {1280, 720, 0, 0, 1280, 720, 576, 324},   /* 720p at half size in a window at 90 % */
        {1280, 720, 0, 0, 1280, 720, 960, 540},   /* grown by 1.5 */
        {138, 42, 0, 0, 138, 42, 37, 19},
        {138, 42, 10, 4, 111, 37, 50, 30}, /* an odd crop: 101 x 33 */
        {64, 36, 0, 0, 64, 36, 160, 90},   /* grown by 2.5 */
        {640, 360, 0, 0, 640, 360, 21, 13},
        {320, 180, 0, 0, 320, 180, 320, 90},     /* one axis only */
        {22, 8, 2, 2, 21, 7, 3, 17},             /* shrunk across, grown down */
        {1280, 720, 0, 0, 1280, 720, 1280, 720}, /* the same size: chroma grown 2:1 */
        {138, 42, 10, 4, 111, 37, 101, 33},      /* the same size, odd */
        {22, 8, 0, 0, 22, 8, 22, 8},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (size_t i = 0; i < sizeof scales / sizeof scales[0]; i++) {
            if (scales[i].w * scales[i].h > 100000 && k != planar && k != nv12)
                continue;
            AVFrame *f =
                random_frame(kinds[k].fmt, scales[i].w, scales[i].h, kinds[k].cs, kinds[k].range);
            CHECK(f != NULL);
            if (!f)
                continue;
            char what[96];
            snprintf(what, sizeof what, "%s %dx%d", kinds[k].name, f->width, f->height);
            /* with AVX2 only: without, these sizes are libswscale's (another filter), which
             * is checked to draw at all */
            if (have_avx2)
                check_scaled(f, scales[i].x0, scales[i].y0, scales[i].x1, scales[i].y1,
                             scales[i].dw, scales[i].dh, true, what);
            CHECK(libswscale_draws(f, scales[i].dw, scales[i].dh));
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
