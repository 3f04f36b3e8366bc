/* renderer, label and png against Mesa through SDL's offscreen driver: YUV→RGB colours per
 * matrix/range/format, the panel mapping across a bezel, slate, fit/fill/stretch, labels and
 * badges, shader error locations, offscreen targets and a PNG round trip. */
#include <SDL.h>
#include <epoxy/gl.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "model/geometry.h"
#include "render/label.h"
#include "render/png.h"
#include "render/renderer.h"

#ifndef VWALL_TEST_CLIPS_DIR
#define VWALL_TEST_CLIPS_DIR "tests/clips"
#endif
#ifndef VWALL_TEST_SHADER_DIR
#define VWALL_TEST_SHADER_DIR "shaders"
#endif

#define FB_W 320
#define FB_H 180
#define PANEL_W 160
#define BEZEL 10

static struct vw_renderer *R; /* the renderer under test: GPU, then CPU composition */
static struct vw_target *T;
/* Colour tolerance: shaders are exact to a code or two; libswscale's RGB output reads up to
 * 5 codes darker (tests/render_test.py says the same). */
static int tol = 3;
static uint8_t pixels[FB_W * FB_H * 4];
/* Two 160x180 panels side by side with a 10 px bezel: virtual canvas 330x180. */
static struct vw_panel_view panels[2] = {
    {{0, 0, PANEL_W, FB_H}, 0, 0, PANEL_W, FB_H},
    {{PANEL_W + BEZEL, 0, 2 * PANEL_W + BEZEL, FB_H}, PANEL_W, 0, PANEL_W, FB_H},
};
static const struct vw_box CANVAS = {0, 0, 2 * PANEL_W + BEZEL, FB_H};

static void render(const struct vw_draw_tile *tiles, int n)
{
    vw_target_bind(T);
    vw_renderer_begin(R, FB_W, FB_H);
    vw_renderer_draw_panel(R, &panels[0], tiles, n);
    vw_renderer_draw_panel(R, &panels[1], tiles, n);
    vw_renderer_end(R);
    vw_target_read(T, pixels);
    vw_target_bind(NULL);
}

/* VWALL_TEST_DUMP=DIR writes the last render of a test to DIR/NAME.png, to look at. */
static void dump(const char *name)
{
    const char *dir = getenv("VWALL_TEST_DUMP");
    if (!dir)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.png", dir, name);
    struct vw_errors errs;
    vw_errors_init(&errs);
    if (!vw_png_write(path, pixels, FB_W, FB_H, &errs))
        fprintf(stderr, "dump: %s\n", vw_errors_first(&errs));
    vw_errors_finish(&errs);
}

static const uint8_t *px(int x, int y)
{
    return pixels + ((size_t)y * FB_W + x) * 4;
}

static int near_rgb(int x, int y, int r, int g, int b, int within)
{
    const uint8_t *p = px(x, y);
    return abs(p[0] - r) <= within && abs(p[1] - g) <= within && abs(p[2] - b) <= within;
}

#define CHECK_PX(x, y, r, g, b)                                                                   \
    do {                                                                                          \
        const uint8_t *p_ = px(x, y);                                                             \
        if (!near_rgb(x, y, r, g, b, tol))                                                        \
            fprintf(stderr, "  pixel (%d,%d) = %d,%d,%d expected %d,%d,%d\n", (int)(x), (int)(y), \
                    p_[0], p_[1], p_[2], (int)(r), (int)(g), (int)(b));                           \
        CHECK(near_rgb(x, y, r, g, b, tol));                                                      \
    } while (0)

/* ---- Synthetic frames ---------------------------------------------------------------- */

struct ycc {
    int y, cb, cr;
};

static int clampi(double v, int max)
{
    long r = lround(v);
    return r < 0 ? 0 : r > max ? max : (int)r;
}

/* The standard formulas: E'Y = Kr R + Kg G + Kb B, Pb = (B − Y)/(2(1 − Kb)), Pr likewise,
 * quantized to limited (16..235 / 16..240, scaled for depth) or full range. */
static struct ycc to_ycc(int r8, int g8, int b8, double kr, double kb, int full, int depth)
{
    double r = r8 / 255.0, g = g8 / 255.0, b = b8 / 255.0;
    double y = kr * r + (1 - kr - kb) * g + kb * b;
    double pb = (b - y) / (2 * (1 - kb)), pr = (r - y) / (2 * (1 - kr));
    int max = (1 << depth) - 1;
    double one = 1 << (depth - 8);
    struct ycc c;
    if (full) {
        c.y = clampi(y * max, max);
        c.cb = clampi((1 << (depth - 1)) + pb * max, max);
        c.cr = clampi((1 << (depth - 1)) + pr * max, max);
    } else {
        c.y = clampi(one * (16 + 219 * y), max);
        c.cb = clampi(one * (128 + 224 * pb), max);
        c.cr = clampi(one * (128 + 224 * pr), max);
    }
    return c;
}

static void fill8(uint8_t *p, int ls, int w, int h, int step, int off, int v)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            p[(size_t)y * ls + x * step + off] = (uint8_t)v;
}

static void fill16(uint8_t *p, int ls, int w, int h, int step, int off, int v)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint16_t s = (uint16_t)v;
            memcpy(p + (size_t)y * ls + (x * step + off) * 2, &s, 2);
        }
}

/* A w×h frame of one colour in `fmt`, with the given matrix tag and range. */
static AVFrame *solid_frame(enum AVPixelFormat fmt, int w, int h, int r, int g, int b,
                            enum AVColorSpace cs, enum AVColorRange range)
{
    double kr = 0.299, kb = 0.114;
    enum AVColorSpace eff = cs;
    if (eff == AVCOL_SPC_UNSPECIFIED)
        eff = h >= 720 ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M;
    if (eff == AVCOL_SPC_BT709) {
        kr = 0.2126;
        kb = 0.0722;
    }
    int full = range == AVCOL_RANGE_JPEG || fmt == AV_PIX_FMT_YUVJ420P;
    int depth = (fmt == AV_PIX_FMT_YUV420P10LE || fmt == AV_PIX_FMT_P010LE) ? 10 : 8;
    struct ycc c = to_ycc(r, g, b, kr, kb, full, depth);

    AVFrame *f = av_frame_alloc();
    f->format = fmt;
    f->width = w;
    f->height = h;
    f->colorspace = cs;
    f->color_range = range;
    if (av_frame_get_buffer(f, 0) < 0)
        abort();
    int cw = (w + 1) / 2, ch = (h + 1) / 2;
    switch (fmt) {
    case AV_PIX_FMT_YUV420P:
    case AV_PIX_FMT_YUVJ420P:
    case AV_PIX_FMT_YUV422P:
    case AV_PIX_FMT_YUV444P:
        if (fmt == AV_PIX_FMT_YUV444P)
            cw = w, ch = h;
        if (fmt == AV_PIX_FMT_YUV422P)
            ch = h;
        fill8(f->data[0], f->linesize[0], w, h, 1, 0, c.y);
        fill8(f->data[1], f->linesize[1], cw, ch, 1, 0, c.cb);
        fill8(f->data[2], f->linesize[2], cw, ch, 1, 0, c.cr);
        break;
    case AV_PIX_FMT_NV12:
        fill8(f->data[0], f->linesize[0], w, h, 1, 0, c.y);
        fill8(f->data[1], f->linesize[1], cw, ch, 2, 0, c.cb);
        fill8(f->data[1], f->linesize[1], cw, ch, 2, 1, c.cr);
        break;
    case AV_PIX_FMT_GRAY8: fill8(f->data[0], f->linesize[0], w, h, 1, 0, c.y); break;
    case AV_PIX_FMT_YUV420P10LE:
        fill16(f->data[0], f->linesize[0], w, h, 1, 0, c.y);
        fill16(f->data[1], f->linesize[1], cw, ch, 1, 0, c.cb);
        fill16(f->data[2], f->linesize[2], cw, ch, 1, 0, c.cr);
        break;
    case AV_PIX_FMT_P010LE:
        fill16(f->data[0], f->linesize[0], w, h, 1, 0, c.y << 6);
        fill16(f->data[1], f->linesize[1], cw, ch, 2, 0, c.cb << 6);
        fill16(f->data[1], f->linesize[1], cw, ch, 2, 1, c.cr << 6);
        break;
    case AV_PIX_FMT_RGB24:
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                uint8_t *p = f->data[0] + (size_t)y * f->linesize[0] + x * 3;
                p[0] = (uint8_t)r, p[1] = (uint8_t)g, p[2] = (uint8_t)b;
            }
        break;
    default: abort();
    }
    return f;
}

/* Three horizontal bands (red top quarter, white middle, blue bottom quarter), BT.709 limited,
 * like tests/clips/bands-4x3.mp4. */
static AVFrame *bands_frame(int w, int h)
{
    AVFrame *f =
        solid_frame(AV_PIX_FMT_YUV444P, w, h, 255, 255, 255, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG);
    struct ycc red = to_ycc(255, 0, 0, 0.2126, 0.0722, 0, 8);
    struct ycc blue = to_ycc(0, 0, 255, 0.2126, 0.0722, 0, 8);
    for (int y = 0; y < h; y++) {
        const struct ycc *c = y < h / 4 ? &red : y >= h - h / 4 ? &blue : NULL;
        if (!c)
            continue;
        memset(f->data[0] + (size_t)y * f->linesize[0], c->y, (size_t)w);
        memset(f->data[1] + (size_t)y * f->linesize[1], c->cb, (size_t)w);
        memset(f->data[2] + (size_t)y * f->linesize[2], c->cr, (size_t)w);
    }
    return f;
}

/* ---- Every pixel format -------------------------------------------------------------- */

/* Quadrant colours (top-left, top-right, bottom-left, bottom-right): whole 0/255 components,
 * which every format down to 1 bit per component holds exactly, so libswscale writes them
 * without dithering noise; 1-bit formats get black and white. */
static const int QUAD[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
static const int QUAD_MONO[4][3] = {{255, 255, 255}, {0, 0, 0}, {0, 0, 0}, {255, 255, 255}};

static int quadrant(int x, int y, int w, int h)
{
    if (w == 1 && h == 1)
        return 0;
    return (x >= w / 2) + 2 * (y >= h / 2);
}

/* An rgb24 frame of four quadrants of colours q. */
static AVFrame *quad_rgb(int w, int h, const int (*q)[3])
{
    AVFrame *f = av_frame_alloc();
    f->format = AV_PIX_FMT_RGB24;
    f->width = w;
    f->height = h;
    if (av_frame_get_buffer(f, 0) < 0)
        abort();
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const int *c = q[quadrant(x, y, w, h)];
            uint8_t *p = f->data[0] + (size_t)y * f->linesize[0] + x * 3;
            p[0] = (uint8_t)c[0], p[1] = (uint8_t)c[1], p[2] = (uint8_t)c[2];
        }
    return f;
}

/* The frame tagged with matrix `cs` and range `range`: made from `rgb` by libswscale, or by
 * hand for the formats it reads but can't write (pal8, Bayer, y210le). NULL if neither. */
static AVFrame *make_frame(enum AVPixelFormat fmt, const AVFrame *rgb, int matrix, bool full,
                           enum AVColorSpace cs, enum AVColorRange range)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
    int w = rgb->width, h = rgb->height;
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
    const uint8_t *src = rgb->data[0];
    int sls = rgb->linesize[0];
    if (fmt == AV_PIX_FMT_PAL8) {
        uint32_t *pal = (uint32_t *)f->data[1];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const uint8_t *p = src + (size_t)y * sls + x * 3;
                int i = quadrant(x, y, w, h);
                pal[i] = 0xffu << 24 | (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
                f->data[0][(size_t)y * f->linesize[0] + x] = (uint8_t)i;
            }
        return f;
    }
    if (d->flags & AV_PIX_FMT_FLAG_BAYER) { /* bayer_rggb8: R G / G B, and so on */
        const char *pat = strchr(d->name, '_') + 1;
        bool wide = d->comp[0].step == 2; /* Bayer's depths are not its samples' */
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const uint8_t *p = src + (size_t)y * sls + x * 3;
                char c = pat[(y % 2) * 2 + x % 2];
                int v = p[c == 'r' ? 0 : c == 'g' ? 1 : 2];
                uint8_t *o = f->data[0] + (size_t)y * f->linesize[0];
                if (wide) {
                    uint16_t s = (uint16_t)(v * 257);
                    memcpy(o + x * 2, &s, 2);
                } else {
                    o[x] = (uint8_t)v;
                }
            }
        return f;
    }
    if ((d->flags & AV_PIX_FMT_FLAG_RGB) && !(d->flags & AV_PIX_FMT_FLAG_FLOAT)) {
        /* RGB by hand, component by component (libswscale writes rgb444be with errors),
         * into zeroed planes (bit fields are or-ed in) */
        for (int i = 0; i < AV_NUM_DATA_POINTERS && f->buf[i]; i++)
            memset(f->buf[i]->data, 0, f->buf[i]->size);
        uint16_t line[4][128];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 4; c++) {
                    int depth = d->comp[c].depth,
                        v = c < 3 ? src[(size_t)y * sls + x * 3 + c] : 255;
                    line[c][x] =
                        (uint16_t)(depth >= 8 ? v * ((1 << depth) - 1) / 255 : v >> (8 - depth));
                }
            for (int c = 0; c < d->nb_components; c++)
                av_write_image_line2(line[c], f->data, f->linesize, d, 0, y, c, w, 2);
        }
        return f;
    }
    enum AVPixelFormat via = fmt == AV_PIX_FMT_Y210LE ? AV_PIX_FMT_YUV422P10LE : fmt;
    AVFrame *t = f;
    if (via != fmt) {
        t = av_frame_alloc();
        t->format = via, t->width = w, t->height = h;
        if (av_frame_get_buffer(t, 0) < 0)
            abort();
    }
    /* no dithering: rgb444, rgb8, mono… get the quadrants' exact colours, no noise */
    struct SwsContext *s = sws_alloc_context();
    if (!s || av_opt_set_int(s, "srcw", w, 0) < 0 || av_opt_set_int(s, "srch", h, 0) < 0 ||
        av_opt_set_int(s, "dstw", w, 0) < 0 || av_opt_set_int(s, "dsth", h, 0) < 0 ||
        av_opt_set_pixel_fmt(s, "src_format", AV_PIX_FMT_RGB24, 0) < 0 ||
        av_opt_set_pixel_fmt(s, "dst_format", via, 0) < 0 ||
        av_opt_set_int(s, "sws_flags", SWS_POINT | SWS_ACCURATE_RND, 0) < 0 ||
        av_opt_set(s, "sws_dither", "none", 0) < 0 || sws_init_context(s, NULL, NULL) < 0) {
        sws_freeContext(s);
        s = NULL;
    }
    if (!s) {
        av_frame_free(&f);
        return NULL;
    }
    const int *co = sws_getCoefficients(matrix);
    sws_setColorspaceDetails(s, co, 1, co, full, 0, 1 << 16, 1 << 16);
    int rows =
        sws_scale(s, (const uint8_t *const *)rgb->data, rgb->linesize, 0, h, t->data, t->linesize);
    sws_freeContext(s);
    if (rows != h) {
        av_frame_free(&f);
        return NULL;
    }
    if (t != f) { /* y210le: Y0 Cb Y1 Cr, 16 bits each, the 10 bits at the top */
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x += 2) {
                const uint16_t *yy = (const uint16_t *)(t->data[0] + (size_t)y * t->linesize[0]);
                const uint16_t *cb = (const uint16_t *)(t->data[1] + (size_t)y * t->linesize[1]);
                const uint16_t *cr = (const uint16_t *)(t->data[2] + (size_t)y * t->linesize[2]);
                uint16_t v[4] = {(uint16_t)(yy[x] << 6), (uint16_t)(cb[x / 2] << 6),
                                 (uint16_t)(yy[x + 1 < w ? x + 1 : x] << 6),
                                 (uint16_t)(cr[x / 2] << 6)};
                memcpy(f->data[0] + (size_t)y * f->linesize[0] + x * 4, v, sizeof v);
            }
        av_frame_free(&t);
    }
    return f;
}

/* FFmpeg's own colours for f: libswscale's conversion to rgb24 at f's size, told the matrix
 * and range the test tagged. Gray goes to 16 bits a component, then rounded to 8: libswscale's
 * direct gray8 -> rgb24 path ignores the range it is told (gray16, ya8… honour it). */
static uint8_t *reference_rgb(const AVFrame *f, int matrix, bool full)
{
    size_t n = (size_t)f->width * f->height * 3;
    uint8_t *out = malloc(n * 3 + 64);
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
    bool gray = !(d->flags & AV_PIX_FMT_FLAG_RGB) && d->nb_components <= 2;
    enum AVPixelFormat to = gray ? AV_PIX_FMT_RGB48 : AV_PIX_FMT_RGB24;
    struct SwsContext *s =
        sws_getContext(f->width, f->height, f->format, f->width, f->height, to,
                       SWS_POINT | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
    if (!s || !out) {
        sws_freeContext(s);
        free(out);
        return NULL;
    }
    const int *co = sws_getCoefficients(matrix);
    sws_setColorspaceDetails(s, co, full, co, 1, 0, 1 << 16, 1 << 16);
    uint8_t *dst[4] = {gray ? out + n : out, NULL, NULL, NULL};
    int dst_ls[4] = {f->width * (gray ? 6 : 3), 0, 0, 0};
    int rows =
        sws_scale(s, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, dst_ls);
    sws_freeContext(s);
    if (rows != f->height) {
        free(out);
        return NULL;
    }
    for (size_t i = 0; i < n && gray; i++) {
        uint16_t v;
        memcpy(&v, out + n + 2 * i, 2);
        out[i] = (uint8_t)((v + 128) / 257);
    }
    return out;
}

/* Semi-planar formats libswscale can't read but the shaders can, and their planar twins. */
static enum AVPixelFormat planar_twin(enum AVPixelFormat fmt)
{
    switch (fmt) {
    case AV_PIX_FMT_NV16: return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_NV20LE: return AV_PIX_FMT_YUV422P10LE;
    default: return AV_PIX_FMT_NONE;
    }
}

/* The twin p's chroma planes interleaved into a frame in fmt (nv16, nv20le). */
static AVFrame *interleave(const AVFrame *p, enum AVPixelFormat fmt)
{
    int bytes = av_pix_fmt_desc_get(fmt)->comp[0].step; /* 1 or 2 */
    AVFrame *f = av_frame_alloc();
    f->format = fmt, f->width = p->width, f->height = p->height;
    f->colorspace = p->colorspace, f->color_range = p->color_range;
    if (av_frame_get_buffer(f, 0) < 0)
        abort();
    int cw = (p->width + 1) / 2;
    for (int y = 0; y < p->height; y++) {
        memcpy(f->data[0] + (size_t)y * f->linesize[0], p->data[0] + (size_t)y * p->linesize[0],
               (size_t)p->width * bytes);
        uint8_t *o = f->data[1] + (size_t)y * f->linesize[1];
        for (int x = 0; x < cw; x++) {
            memcpy(o + 2 * x * bytes, p->data[1] + (size_t)y * p->linesize[1] + x * bytes, bytes);
            memcpy(o + (2 * x + 1) * bytes, p->data[2] + (size_t)y * p->linesize[2] + x * bytes,
                   bytes);
        }
    }
    return f;
}

/* Every software pixel format FFmpeg knows, at 1x1, odd and even sizes, landscape and
 * portrait, in a fit tile (panel 0) and a cropped fill tile (panel 1): each quadrant shows
 * libswscale's colour for it within the tolerance. Formats libswscale can't read are refused
 * with the reason. Returns how many formats were shown. */
static int test_formats(void)
{
    static const int sizes[][2] = {{1, 1}, {64, 36}, {67, 37}, {36, 64}};
    struct vw_draw_tile tiles[2] = {
        {.box = {0, 0, PANEL_W, FB_H}, .fit = VW_FIT_FIT},
        {.box = {PANEL_W + BEZEL, 0, 2 * PANEL_W + BEZEL, FB_H}, .fit = VW_FIT_FILL},
    };
    int shown = 0, n = 0;
    for (const AVPixFmtDescriptor *d = av_pix_fmt_desc_next(NULL); d; d = av_pix_fmt_desc_next(d)) {
        enum AVPixelFormat fmt = av_pix_fmt_desc_get_id(d);
        if (d->flags & AV_PIX_FMT_FLAG_HWACCEL)
            continue;
        n++;
        bool mono = d->comp[0].depth == 1 && d->nb_components == 1;
        /* tags vary with the format: none, BT.709 limited, BT.470BG full */
        int kind = n % 3;
        enum AVColorSpace cs = kind == 0   ? AVCOL_SPC_UNSPECIFIED
                               : kind == 1 ? AVCOL_SPC_BT709
                                           : AVCOL_SPC_BT470BG;
        enum AVColorRange range = kind == 0   ? AVCOL_RANGE_UNSPECIFIED
                                  : kind == 1 ? AVCOL_RANGE_MPEG
                                              : AVCOL_RANGE_JPEG;
        if ((d->flags & AV_PIX_FMT_FLAG_FLOAT) && range == AVCOL_RANGE_MPEG)
            range = AVCOL_RANGE_JPEG; /* float is 0 to 1: vwall reads it so whatever the tag */
        bool gray = !(d->flags & AV_PIX_FMT_FLAG_RGB) && d->nb_components <= 2;
        bool full = range == AVCOL_RANGE_JPEG || strncmp(d->name, "yuvj", 4) == 0 ||
                    (gray && range == AVCOL_RANGE_UNSPECIFIED);
        /* the shaders read nv16 and nv20le, libswscale can't: checked against their twins */
        enum AVPixelFormat twin = planar_twin(fmt);
        bool gpu = vw_renderer_compose(R) == VW_COMPOSE_GPU;
        if (!sws_isSupportedInput(fmt) && !(twin != AV_PIX_FMT_NONE && gpu)) {
            /* refused, with the reason */
            AVFrame *f = av_frame_alloc();
            f->format = fmt, f->width = 16, f->height = 16;
            if (av_frame_get_buffer(f, 0) == 0) {
                struct vw_texture *tex = vw_texture_create(R);
                CHECK(!vw_texture_upload(tex, f));
                CHECK(!vw_texture_has_picture(tex));
                const char *why = vw_texture_problem(tex);
                CHECK(why && strstr(why, d->name));
                vw_texture_destroy(tex);
            }
            av_frame_free(&f);
            continue;
        }
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            int w = sizes[si][0], h = sizes[si][1];
            if ((d->flags & AV_PIX_FMT_FLAG_BAYER) && (w % 2 || h % 2))
                continue; /* a Bayer picture is whole 2x2 quads */
            int matrix = cs != AVCOL_SPC_UNSPECIFIED ? (int)cs
                         : h >= 720                  ? AVCOL_SPC_BT709
                                                     : AVCOL_SPC_SMPTE170M;
            AVFrame *rgb = quad_rgb(w, h, mono ? QUAD_MONO : QUAD);
            AVFrame *f =
                make_frame(twin != AV_PIX_FMT_NONE ? twin : fmt, rgb, matrix, full, cs, range);
            av_frame_free(&rgb);
            AVFrame *shown_f = f && twin != AV_PIX_FMT_NONE ? interleave(f, fmt) : f;
            if (!f) {
                fprintf(stderr, "  %s %dx%d: can't make a test frame\n", d->name, w, h);
                CHECK(f != NULL);
                continue;
            }
            uint8_t *ref = reference_rgb(f, matrix, full);
            if (ref && (d->flags & AV_PIX_FMT_FLAG_BAYER)) { /* libswscale's own is off */
                AVFrame *back = quad_rgb(w, h, QUAD);
                for (int y = 0; y < h; y++)
                    memcpy(ref + (size_t)y * w * 3, back->data[0] + (size_t)y * back->linesize[0],
                           (size_t)w * 3);
                av_frame_free(&back);
            }
            CHECK(ref != NULL);
            struct vw_texture *tex = vw_texture_create(R);
            bool up = vw_texture_upload(tex, shown_f);
            CHECK(up);
            if (!up || !ref) {
                fprintf(stderr, "  ^ %s %dx%d not shown: %s\n", d->name, w, h,
                        vw_texture_problem(tex) ? vw_texture_problem(tex) : "?");
                free(ref);
                if (shown_f != f)
                    av_frame_free(&shown_f);
                av_frame_free(&f);
                vw_texture_destroy(tex);
                continue;
            }
            tiles[0].tex = tiles[1].tex = tex;
            render(tiles, 2);
            int fails = check_failed;
            for (int t = 0; t < 2; t++) {
                struct vw_placement pl = vw_geom_place(tiles[t].box, (double)w / h, tiles[t].fit);
                for (int q = 0; q < 4; q++) {
                    /* the quadrant's part of the picture shown, in source pixels */
                    int qx0 = q % 2 ? w / 2 : 0, qx1 = q % 2 ? w : w / 2;
                    int qy0 = q / 2 ? h / 2 : 0, qy1 = q / 2 ? h : h / 2;
                    if (w == 1 && h == 1)
                        qx0 = qy0 = 0, qx1 = qy1 = q == 0;
                    double vx0 = fmax(qx0, pl.tex.x0 * w), vx1 = fmin(qx1, pl.tex.x1 * w);
                    double vy0 = fmax(qy0, pl.tex.y0 * h), vy1 = fmin(qy1, pl.tex.y1 * h);
                    if (vx1 - vx0 < 3 && !(w == 1 && h == 1))
                        continue; /* too little of it shows to stay clear of its edges */
                    if (vx1 <= vx0 || vy1 <= vy0)
                        continue;
                    double sx = (vx0 + vx1) / 2, sy = (vy0 + vy1) / 2;
                    double cx = pl.quad.x0 + (sx / w - pl.tex.x0) / (pl.tex.x1 - pl.tex.x0) *
                                                 (pl.quad.x1 - pl.quad.x0);
                    double cy = pl.quad.y0 + (sy / h - pl.tex.y0) / (pl.tex.y1 - pl.tex.y0) *
                                                 (pl.quad.y1 - pl.quad.y0);
                    int fx = (int)cx - (t ? BEZEL : 0), fy = (int)cy;
                    const uint8_t *r = ref + ((size_t)(int)sy * w + (int)sx) * 3;
                    CHECK_PX(fx, fy, r[0], r[1], r[2]);
                }
            }
            if (check_failed != fails) {
                fprintf(stderr, "  ^ %s %dx%d (%s, %s)\n", d->name, w, h, av_color_space_name(cs),
                        av_color_range_name(range));
                char name[64];
                snprintf(name, sizeof name, "fmt-%s-%dx%d", d->name, w, h);
                dump(name);
            }
            shown += si == 0;
            free(ref);
            if (shown_f != f)
                av_frame_free(&shown_f);
            av_frame_free(&f);
            vw_texture_destroy(tex);
        }
    }
    fprintf(stderr, "  %d pixel formats, %d shown at every size in fit and fill tiles\n", n, shown);
    return shown;
}

/* A picture stored on its side (a display matrix, as H.264/HEVC decoders attach from the
 * stream's display-orientation SEI) shows upright, in fit and cropped fill tiles, on both
 * compositions: each quadrant of the turned picture where it belongs. */
static void test_rotation(void)
{
    static const int rotations[] = {90, 180, 270, 0};
    struct vw_draw_tile tiles[2] = {
        {.box = {0, 0, PANEL_W, FB_H}, .fit = VW_FIT_FIT},
        {.box = {PANEL_W + BEZEL, 0, 2 * PANEL_W + BEZEL, FB_H}, .fit = VW_FIT_FILL},
    };
    const int w = 64, h = 36;
    for (int k = 0; k < 4; k++) {
        int rot = rotations[k];
        AVFrame *rgb = quad_rgb(w, h, QUAD);
        AVFrame *f = make_frame(AV_PIX_FMT_YUV420P, rgb, AVCOL_SPC_BT709, false, AVCOL_SPC_BT709,
                                AVCOL_RANGE_MPEG);
        av_frame_free(&rgb);
        if (rot) {
            AVFrameSideData *sd =
                av_frame_new_side_data(f, AV_FRAME_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t));
            av_display_rotation_set((int32_t *)sd->data, rot); /* turn clockwise to show */
        }
        struct vw_texture *tex = vw_texture_create(R);
        CHECK(vw_texture_upload(tex, f));
        double aspect = rot % 180 ? (double)h / w : (double)w / h;
        CHECK_NEAR(vw_texture_aspect(tex), aspect, 1e-9);
        tiles[0].tex = tiles[1].tex = tex;
        render(tiles, 2);
        int fails = check_failed;
        for (int t = 0; t < 2; t++) {
            struct vw_placement pl = vw_geom_place(tiles[t].box, aspect, tiles[t].fit);
            /* points of the shown picture (u, v), a quarter in from its visible edges */
            for (int q = 0; q < 4; q++) {
                double u = pl.tex.x0 + (pl.tex.x1 - pl.tex.x0) * (q % 2 ? 0.75 : 0.25);
                double v = pl.tex.y0 + (pl.tex.y1 - pl.tex.y0) * (q / 2 ? 0.75 : 0.25);
                double s = rot == 90 ? v : rot == 180 ? 1 - u : rot == 270 ? 1 - v : u;
                double tt = rot == 90 ? 1 - u : rot == 180 ? 1 - v : rot == 270 ? u : v;
                const int *want = QUAD[quadrant((int)(s * w), (int)(tt * h), w, h)];
                double cx = pl.quad.x0 + (q % 2 ? 0.75 : 0.25) * (pl.quad.x1 - pl.quad.x0);
                double cy = pl.quad.y0 + (q / 2 ? 0.75 : 0.25) * (pl.quad.y1 - pl.quad.y0);
                CHECK_PX((int)cx - (t ? BEZEL : 0), (int)cy, want[0], want[1], want[2]);
            }
        }
        if (check_failed != fails) {
            fprintf(stderr, "  ^ turned %d degrees\n", rot);
            char name[32];
            snprintf(name, sizeof name, "rotation-%d", rot);
            dump(name);
        }
        vw_texture_destroy(tex);
        av_frame_free(&f);
    }
    /* The SEI comes once: the frames after it, of the same size, keep its rotation; a frame
     * of another size without one is upright. */
    struct vw_texture *tex = vw_texture_create(R);
    AVFrame *f =
        solid_frame(AV_PIX_FMT_YUV420P, w, h, 255, 0, 0, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG);
    AVFrameSideData *sd = av_frame_new_side_data(f, AV_FRAME_DATA_DISPLAYMATRIX, 9 * 4);
    av_display_rotation_set((int32_t *)sd->data, 90);
    CHECK(vw_texture_upload(tex, f));
    CHECK_NEAR(vw_texture_aspect(tex), (double)h / w, 1e-9);
    av_frame_remove_side_data(f, AV_FRAME_DATA_DISPLAYMATRIX);
    CHECK(vw_texture_upload(tex, f));
    CHECK_NEAR(vw_texture_aspect(tex), (double)h / w, 1e-9);
    av_frame_free(&f);
    f = solid_frame(AV_PIX_FMT_YUV420P, 48, 36, 255, 0, 0, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG);
    CHECK(vw_texture_upload(tex, f));
    CHECK_NEAR(vw_texture_aspect(tex), 48.0 / 36.0, 1e-9);
    av_frame_free(&f);
    vw_texture_destroy(tex);
}

/* A frame wider or taller than GL_MAX_TEXTURE_SIZE is scaled down to fit, not refused. */
static void test_huge_frame(void)
{
    GLint max_tex = 0;
    glGetIntegerv(GL_MAX_TEXTURE_SIZE, &max_tex);
    static const int dims[][2] = {{0, 8}, {8, 0}};
    for (int i = 0; i < 2; i++) {
        int w = dims[i][0] ? dims[i][0] : max_tex + 64;
        int h = dims[i][1] ? dims[i][1] : max_tex + 64;
        AVFrame *f =
            solid_frame(AV_PIX_FMT_YUV420P, w, h, 255, 128, 0, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG);
        struct vw_texture *tex = vw_texture_create(R);
        CHECK(vw_texture_upload(tex, f));
        CHECK(vw_texture_has_picture(tex) && vw_texture_problem(tex) == NULL);
        CHECK_NEAR(vw_texture_aspect(tex), (double)w / h, 1e-9);
        CHECK(vw_texture_upload(tex, f)); /* again: the warning is not repeated (see log) */
        struct vw_draw_tile tile = {.box = CANVAS, .fit = VW_FIT_STRETCH, .tex = tex};
        render(&tile, 1);
        CHECK_PX(80, 90, 255, 128, 0);
        CHECK_PX(240, 90, 255, 128, 0);
        vw_texture_destroy(tex);
        av_frame_free(&f);
    }
}

/* ---- Tests --------------------------------------------------------------------------- */

/* Uploads a solid frame into a tile covering the whole canvas and checks both panels. */
static void check_colour(const char *what, enum AVPixelFormat fmt, int w, int h, int r, int g,
                         int b, enum AVColorSpace cs, enum AVColorRange range)
{
    struct vw_texture *tex = vw_texture_create(R);
    AVFrame *f = solid_frame(fmt, w, h, r, g, b, cs, range);
    bool up = vw_texture_upload(tex, f);
    CHECK(up);
    CHECK(vw_texture_has_picture(tex));
    struct vw_draw_tile tile = {.box = CANVAS, .fit = VW_FIT_STRETCH, .tex = tex};
    render(&tile, 1);
    int fails = check_failed;
    CHECK_PX(10, 10, r, g, b);
    CHECK_PX(FB_W / 2, FB_H / 2, r, g, b);
    CHECK_PX(FB_W - 5, FB_H - 5, r, g, b);
    if (check_failed != fails)
        fprintf(stderr, "  ^ in %s\n", what);
    av_frame_free(&f);
    vw_texture_destroy(tex);
}

static void test_colours(void)
{
    static const int colours[][3] = {
        {255, 0, 0},     {0, 255, 0},   {0, 0, 255},  {255, 255, 255},
        {128, 128, 128}, {255, 128, 0}, {30, 60, 90}, {0, 0, 0},
    };
    for (size_t i = 0; i < sizeof colours / sizeof colours[0]; i++) {
        const int *c = colours[i];
        check_colour("yuv420p bt709 limited", AV_PIX_FMT_YUV420P, 64, 36, c[0], c[1], c[2],
                     AVCOL_SPC_BT709, AVCOL_RANGE_MPEG);
        check_colour("yuv420p bt601 limited", AV_PIX_FMT_YUV420P, 64, 48, c[0], c[1], c[2],
                     AVCOL_SPC_SMPTE170M, AVCOL_RANGE_MPEG);
        check_colour("yuv420p bt470bg limited", AV_PIX_FMT_YUV420P, 64, 48, c[0], c[1], c[2],
                     AVCOL_SPC_BT470BG, AVCOL_RANGE_MPEG);
        check_colour("yuvj420p bt709 full", AV_PIX_FMT_YUVJ420P, 64, 36, c[0], c[1], c[2],
                     AVCOL_SPC_BT709, AVCOL_RANGE_UNSPECIFIED);
        check_colour("yuv420p bt601 full (range tag)", AV_PIX_FMT_YUV420P, 64, 48, c[0], c[1], c[2],
                     AVCOL_SPC_SMPTE170M, AVCOL_RANGE_JPEG);
        check_colour("nv12 bt709", AV_PIX_FMT_NV12, 64, 36, c[0], c[1], c[2], AVCOL_SPC_BT709,
                     AVCOL_RANGE_MPEG);
        check_colour("yuv444p bt709", AV_PIX_FMT_YUV444P, 63, 35, c[0], c[1], c[2], AVCOL_SPC_BT709,
                     AVCOL_RANGE_MPEG);
        check_colour("yuv422p bt601", AV_PIX_FMT_YUV422P, 65, 37, c[0], c[1], c[2],
                     AVCOL_SPC_SMPTE170M, AVCOL_RANGE_MPEG);
        check_colour("yuv420p10le bt709", AV_PIX_FMT_YUV420P10LE, 64, 36, c[0], c[1], c[2],
                     AVCOL_SPC_BT709, AVCOL_RANGE_MPEG);
        check_colour("p010le bt709", AV_PIX_FMT_P010LE, 64, 36, c[0], c[1], c[2], AVCOL_SPC_BT709,
                     AVCOL_RANGE_MPEG);
        check_colour("rgb24 (converted on the CPU)", AV_PIX_FMT_RGB24, 64, 36, c[0], c[1], c[2],
                     AVCOL_SPC_UNSPECIFIED, AVCOL_RANGE_UNSPECIFIED);
    }
    /* Unspecified matrix: BT.601 below 720 lines, BT.709 from 720. */
    check_colour("yuv420p unspecified, 576 lines → bt601", AV_PIX_FMT_YUV420P, 16, 576, 255, 128, 0,
                 AVCOL_SPC_UNSPECIFIED, AVCOL_RANGE_MPEG);
    check_colour("yuv420p unspecified, 720 lines → bt709", AV_PIX_FMT_YUV420P, 16, 720, 255, 128, 0,
                 AVCOL_SPC_UNSPECIFIED, AVCOL_RANGE_MPEG);
    /* Gray: luma only. */
    check_colour("gray8", AV_PIX_FMT_GRAY8, 64, 36, 200, 200, 200, AVCOL_SPC_BT709,
                 AVCOL_RANGE_MPEG);
}

/* Re-uploading into the same texture (same size, then another size) shows the new picture,
 * copied (vw_texture_upload) or handed over (vw_texture_upload_take, as the wall does). */
static void test_reupload(void)
{
    struct vw_texture *tex = vw_texture_create(R);
    CHECK(!vw_texture_has_picture(tex));
    CHECK_NEAR(vw_texture_aspect(tex), 16.0 / 9.0, 1e-9);
    struct vw_draw_tile tile = {.box = CANVAS, .fit = VW_FIT_STRETCH, .tex = tex};
    struct vw_draw_tile small = {.box = {0, 0, 40, 30}, .fit = VW_FIT_STRETCH, .tex = tex};
    const int sizes[][2] = {{64, 36}, {64, 36}, {64, 36}, {48, 48}, {64, 36}};
    const int colours[][3] = {
        {255, 0, 0}, {0, 0, 255}, {0, 255, 0}, {255, 255, 255}, {255, 0, 255}};
    bool cpu = vw_renderer_compose(R) == VW_COMPOSE_CPU;
    AVFrame *decoder_ref = av_frame_alloc(); /* what a decoder keeps of a frame it gave out */
    int blue_y = -1;                         /* frame 1's luma, as the decoder sees it */
    for (int i = 0; i < 5; i++) {
        AVFrame *f = solid_frame(AV_PIX_FMT_YUV420P, sizes[i][0], sizes[i][1], colours[i][0],
                                 colours[i][1], colours[i][2], AVCOL_SPC_BT709, AVCOL_RANGE_MPEG);
        f->sample_aspect_ratio = (AVRational){i == 3 ? 4 : 1, 1};
        bool take = i % 2 == 1;
        if (take) {
            av_frame_unref(decoder_ref);
            CHECK(av_frame_ref(decoder_ref, f) == 0);
            if (i == 1)
                blue_y = f->data[0][0];
            CHECK(vw_texture_upload_take(tex, f));
            /* kept (the frame is left blank) with the CPU composition; copied into GL */
            CHECK(cpu ? f->buf[0] == NULL && f->format < 0 : f->buf[0] != NULL);
        } else {
            CHECK(vw_texture_upload(tex, f));
        }
        if (i == 3)
            CHECK_NEAR(vw_texture_aspect(tex), 4.0, 1e-9); /* 48x48 with SAR 4:1 */
        av_frame_free(&f); /* the caller's frame is gone: the texture must not need it */
        render(&tile, 1);
        CHECK_PX(100, 100, colours[i][0], colours[i][1], colours[i][2]);
        render(&small, 1); /* scaled again, from what the texture kept */
        CHECK_PX(20, 15, colours[i][0], colours[i][1], colours[i][2]);
        /* The copy after a take (i = 2, same size) must not write into the taken frame's
         * buffers, which a decoder may still use as a reference picture. */
        if (i == 2)
            CHECK(decoder_ref->data[0][0] == blue_y && blue_y >= 0);
    }
    av_frame_free(&decoder_ref);
    CHECK_NEAR(vw_texture_aspect(tex), 64.0 / 36.0, 1e-9);
    vw_texture_destroy(tex);
}

/* The panel mapping across the bezel: what lies behind the bezel is hidden. */
static void test_bezel(void)
{
    struct vw_texture *red = vw_texture_create(R), *blue = vw_texture_create(R),
                      *green = vw_texture_create(R);
    AVFrame *f;
    f = solid_frame(AV_PIX_FMT_YUV420P, 32, 32, 255, 0, 0, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG);
    vw_texture_upload(red, f);
    av_frame_free(&f);
    f = solid_frame(AV_PIX_FMT_YUV420P, 32, 32, 0, 0, 255, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG);
    vw_texture_upload(blue, f);
    av_frame_free(&f);
    f = solid_frame(AV_PIX_FMT_YUV420P, 32, 32, 0, 255, 0, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG);
    vw_texture_upload(green, f);
    av_frame_free(&f);
    /* red left of virtual x 165 (inside the bezel 160..170), blue right of it, and a green
     * strip over virtual 150..180 drawn last. */
    struct vw_draw_tile tiles[3] = {
        {.box = {0, 0, 165, 90}, .fit = VW_FIT_STRETCH, .tex = red},
        {.box = {165, 0, 330, 90}, .fit = VW_FIT_STRETCH, .tex = blue},
        {.box = {150, 90, 180, 180}, .fit = VW_FIT_STRETCH, .tex = green},
    };
    render(tiles, 3);
    CHECK_PX(159, 45, 255, 0, 0); /* panel 0's last column: red */
    CHECK_PX(160, 45, 0, 0, 255); /* panel 1's first column is virtual 170: blue */
    CHECK_PX(0, 45, 255, 0, 0);
    CHECK_PX(319, 45, 0, 0, 255);
    CHECK_PX(149, 135, 0, 0, 0);   /* left of the strip: black background */
    CHECK_PX(150, 135, 0, 255, 0); /* strip, virtual 150..160 on panel 0 */
    CHECK_PX(159, 135, 0, 255, 0);
    CHECK_PX(160, 135, 0, 255, 0); /* strip, virtual 170..180 on panel 1 = fb 160..170 */
    CHECK_PX(169, 135, 0, 255, 0);
    CHECK_PX(170, 135, 0, 0, 0);
    vw_texture_destroy(red);
    vw_texture_destroy(blue);
    vw_texture_destroy(green);
}

static void test_fit_fill_stretch(void)
{
    struct vw_texture *tex = vw_texture_create(R);
    AVFrame *f = bands_frame(160, 120); /* 4:3 */
    CHECK(vw_texture_upload(tex, f));
    CHECK_NEAR(vw_texture_aspect(tex), 4.0 / 3.0, 1e-9);
    av_frame_free(&f);
    /* A 16:9 tile of 160x90 on panel 0; and the same on panel 1 crossing nothing. */
    struct vw_box box = {0, 0, 160, 90};

    /* fit: a 120x90 picture centred, black bars at x < 20 and x >= 140. */
    struct vw_draw_tile tile = {.box = box, .fit = VW_FIT_FIT, .tex = tex};
    render(&tile, 1);
    CHECK_PX(10, 45, 0, 0, 0);
    CHECK_PX(150, 45, 0, 0, 0);
    CHECK_PX(80, 45, 255, 255, 255);
    CHECK_PX(80, 5, 255, 0, 0); /* red band: top quarter of 90 rows */
    CHECK_PX(80, 18, 255, 0, 0);
    CHECK_PX(80, 85, 0, 0, 255);
    CHECK_PX(80, 100, 0, 0, 0); /* nothing spills below the tile */

    /* fill: the 160x90 middle of the picture scaled to 160x120: rows 15..105 of 120 shown,
     * so red covers the top 15/90 of the tile, no bars. */
    dump("fit");
    tile.fit = VW_FIT_FILL;
    render(&tile, 1);
    dump("fill");
    CHECK_PX(2, 45, 255, 255, 255);
    CHECK_PX(157, 45, 255, 255, 255);
    CHECK_PX(80, 5, 255, 0, 0);
    CHECK_PX(80, 20, 255, 255, 255); /* red in fit and stretch, white in fill */
    CHECK_PX(80, 86, 0, 0, 255);
    CHECK_PX(80, 95, 0, 0, 0);

    /* stretch: whole picture, red down to 90/4 = 22.5 rows. */
    tile.fit = VW_FIT_STRETCH;
    render(&tile, 1);
    CHECK_PX(2, 45, 255, 255, 255);
    CHECK_PX(80, 20, 255, 0, 0);
    CHECK_PX(80, 70, 0, 0, 255);
    vw_texture_destroy(tex);
}

/* A yuv420p frame of 1-pixel black and white columns (BT.709 limited), neutral chroma. */
static AVFrame *stripes_frame(int w, int h)
{
    AVFrame *f = solid_frame(AV_PIX_FMT_YUV420P, w, h, 0, 0, 0, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            f->data[0][(size_t)y * f->linesize[0] + x] = x % 2 ? 235 : 16;
    return f;
}

/* Nearest-texel sampling is used exactly where it gives what bilinear gives: for a plane
 * shown one texel per pixel on whole pixels, and nowhere else. */
static void test_sampling(void)
{
    struct vw_texture *tex = vw_texture_create(R);
    AVFrame *f = stripes_frame(160, 90);
    CHECK(vw_texture_upload(tex, f));
    av_frame_free(&f);

    /* 160x90 on 160x90 pixels: Y one to one (nearest), chroma 80x45 doubled (bilinear);
     * the columns stay sharp. */
    unsigned long before = vw_renderer_nearest_planes(R);
    struct vw_draw_tile tile = {.box = {0, 0, 160, 90}, .fit = VW_FIT_STRETCH, .tex = tex};
    render(&tile, 1);
    CHECK(vw_renderer_nearest_planes(R) - before == 1);
    CHECK_PX(40, 45, 0, 0, 0);
    CHECK_PX(41, 45, 255, 255, 255);
    CHECK_PX(159, 89, 255, 255, 255);

    /* Half a pixel off: nothing is one to one, so every column is the mean of two. */
    before = vw_renderer_nearest_planes(R);
    tile.box = (struct vw_box){0.5, 0, 160.5, 90};
    render(&tile, 1);
    CHECK(vw_renderer_nearest_planes(R) == before);
    CHECK_PX(40, 45, 128, 128, 128);
    CHECK_PX(41, 45, 128, 128, 128);

    /* 320x180 on 160x90 pixels: Y halved (bilinear: grey), chroma 160x90 one to one. */
    f = stripes_frame(320, 180);
    CHECK(vw_texture_upload(tex, f));
    av_frame_free(&f);
    before = vw_renderer_nearest_planes(R);
    tile.box = (struct vw_box){0, 0, 160, 90};
    render(&tile, 1);
    CHECK(vw_renderer_nearest_planes(R) - before == 2);
    CHECK_PX(40, 45, 128, 128, 128);
    CHECK_PX(41, 45, 128, 128, 128);
    dump("sampling");
    vw_texture_destroy(tex);
}

/* --compose cpu: libswscale scales to the tile's whole pixels. One to one stays sharp,
 * a 2:1 downscale averages; a half-pixel offset is rounded away (shaders would filter). */
static void test_sampling_cpu(void)
{
    struct vw_texture *tex = vw_texture_create(R);
    AVFrame *f = stripes_frame(160, 90);
    CHECK(vw_texture_upload(tex, f));
    av_frame_free(&f);
    struct vw_draw_tile tile = {.box = {0, 0, 160, 90}, .fit = VW_FIT_STRETCH, .tex = tex};
    render(&tile, 1);
    CHECK_PX(40, 45, 0, 0, 0);
    CHECK_PX(41, 45, 255, 255, 255);
    CHECK_PX(159, 89, 255, 255, 255);
    tile.box = (struct vw_box){0.4, 0, 160.4, 90};
    render(&tile, 1);
    CHECK_PX(40, 45, 0, 0, 0);
    CHECK_PX(41, 45, 255, 255, 255);
    f = stripes_frame(320, 180);
    CHECK(vw_texture_upload(tex, f));
    av_frame_free(&f);
    tile.box = (struct vw_box){0, 0, 160, 90};
    render(&tile, 1);
    CHECK_PX(40, 45, 128, 128, 128);
    CHECK_PX(41, 45, 128, 128, 128);
    CHECK(vw_renderer_nearest_planes(R) == 0); /* no shader sampled anything */
    vw_texture_destroy(tex);
}

/* --compose cpu, a picture at exactly half size (the common 1080p-on-960x540 tile): vwall's
 * own 2:1 box filter and fixed-point matrix instead of libswscale, exact to the shaders'
 * tolerance, for 4:2:0 in separate planes and NV12, each matrix and range. */
static void test_box_half(void)
{
    static const int colours[][3] = {{255, 0, 0},     {0, 255, 0},     {0, 0, 255},
                                     {255, 255, 255}, {128, 128, 128}, {30, 60, 90}};
    static const struct {
        enum AVPixelFormat fmt;
        enum AVColorSpace cs;
        enum AVColorRange range;
    } kinds[] = {
        {AV_PIX_FMT_YUV420P, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG},
        {AV_PIX_FMT_YUV420P, AVCOL_SPC_SMPTE170M, AVCOL_RANGE_MPEG},
        {AV_PIX_FMT_YUV420P, AVCOL_SPC_BT709, AVCOL_RANGE_JPEG},
        {AV_PIX_FMT_YUVJ420P, AVCOL_SPC_SMPTE170M, AVCOL_RANGE_UNSPECIFIED},
        {AV_PIX_FMT_NV12, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG},
    };
    int save = tol;
    tol = 2;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (size_t i = 0; i < sizeof colours / sizeof colours[0]; i++) {
            const int *c = colours[i];
            struct vw_texture *tex = vw_texture_create(R);
            AVFrame *f =
                solid_frame(kinds[k].fmt, 128, 72, c[0], c[1], c[2], kinds[k].cs, kinds[k].range);
            CHECK(vw_texture_upload(tex, f));
            /* 64x36 framebuffer pixels on panel 0, and a cropped (fill) 2:1 on panel 1 */
            struct vw_draw_tile tiles[2] = {
                {.box = {0, 0, 64, 36}, .fit = VW_FIT_STRETCH, .tex = tex},
                {.box = {170, 0, 234, 20}, .fit = VW_FIT_FILL, .tex = tex},
            };
            render(tiles, 2);
            int fails = check_failed;
            CHECK_PX(0, 0, c[0], c[1], c[2]);
            CHECK_PX(32, 18, c[0], c[1], c[2]);
            CHECK_PX(63, 35, c[0], c[1], c[2]);
            CHECK_PX(64, 35, 0, 0, 0); /* nothing outside the tile */
            CHECK_PX(0, 36, 0, 0, 0);
            CHECK_PX(161, 10, c[0], c[1], c[2]);
            CHECK_PX(223, 19, c[0], c[1], c[2]);
            CHECK_PX(223, 20, 0, 0, 0);
            if (check_failed != fails)
                fprintf(stderr, "  ^ box 2:1, kind %zu, colour %zu\n", k, i);
            av_frame_free(&f);
            vw_texture_destroy(tex);
        }
    tol = save;
}

/* The same wall drawn by shaders and by libswscale: a fitted, a filled and a stretched
 * tile of different formats across the bezel, over a partial redraw. Every pixel agrees
 * within the colour tolerance except along picture edges (whole pixels against exact
 * quads, and the two filters' different reach across a band edge). */
static void test_cpu_matches_gpu(struct vw_renderer *gpu, struct vw_renderer *cpu)
{
    static uint8_t ref[FB_W * FB_H * 4];
    AVFrame *bands = bands_frame(160, 120);
    AVFrame *orange =
        solid_frame(AV_PIX_FMT_NV12, 64, 36, 255, 128, 0, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG);
    AVFrame *teal = solid_frame(AV_PIX_FMT_YUV420P10LE, 64, 36, 30, 160, 150, AVCOL_SPC_BT709,
                                AVCOL_RANGE_MPEG);
    struct vw_renderer *save = R;
    for (int pass = 0; pass < 2; pass++) {
        R = pass == 0 ? gpu : cpu;
        struct vw_texture *a = vw_texture_create(R), *b = vw_texture_create(R),
                          *c = vw_texture_create(R);
        CHECK(vw_texture_upload(a, bands) && vw_texture_upload(b, orange) &&
              vw_texture_upload(c, teal));
        struct vw_draw_tile tiles[3] = {
            {.box = {0, 0, 200, 100}, .fit = VW_FIT_FIT, .tex = a, .label = "fit"},
            {.box = {200, 0, 330, 100}, .fit = VW_FIT_FILL, .tex = a},
            {.box = {100, 100, 250, 180}, .fit = VW_FIT_STRETCH, .tex = b},
        };
        render(tiles, 3);
        /* then only the third tile again, with another picture: over what is there */
        tiles[2].tex = c;
        vw_target_bind(T);
        vw_renderer_begin_over(R, FB_W, FB_H);
        vw_renderer_draw_panel(R, &panels[0], &tiles[2], 1);
        vw_renderer_draw_panel(R, &panels[1], &tiles[2], 1);
        vw_renderer_end(R);
        vw_target_read(T, pixels);
        vw_target_bind(NULL);
        if (pass == 0)
            memcpy(ref, pixels, sizeof ref);
        vw_texture_destroy(a);
        vw_texture_destroy(b);
        vw_texture_destroy(c);
    }
    R = save;
    dump("cpu-vs-gpu");
    int far = 0, worst = 0;
    long sum = 0;
    for (size_t i = 0; i < sizeof ref; i++) {
        int d = abs((int)ref[i] - (int)pixels[i]);
        sum += d;
        far += d > 6;
        worst = d > worst ? d : worst;
    }
    double mean = (double)sum / sizeof ref;
    fprintf(stderr,
            "  cpu vs gpu: mean |diff| %.2f, %d of %zu values off by more than 6 "
            "(worst %d)\n",
            mean, far, sizeof ref, worst);
    CHECK(mean < 1.5);
    CHECK(far < (int)(sizeof ref / 100)); /* edges only: under 1 % */
    /* and the tiles' interiors exactly where they should be */
    CHECK_PX(100, 50, 255, 255, 255); /* fit: white middle of the bands */
    CHECK_PX(265, 50, 255, 255, 255); /* fill */
    CHECK_PX(130, 140, 30, 160, 150); /* the redrawn tile, 10-bit teal */
    CHECK_PX(5, 150, 0, 0, 0);        /* never drawn: black */
    av_frame_free(&bands);
    av_frame_free(&orange);
    av_frame_free(&teal);
}

/* The first decoded frame of a clip (scripts/make-clips.sh test), or NULL. */
static AVFrame *decode_first(const char *path)
{
    AVFormatContext *fmt = NULL;
    AVCodecContext *dec = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc(), *got = NULL;
    const AVCodec *codec = NULL;
    if (avformat_open_input(&fmt, path, NULL, NULL) < 0 || avformat_find_stream_info(fmt, NULL) < 0)
        goto out;
    int st = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (st < 0 || !(dec = avcodec_alloc_context3(codec)) ||
        avcodec_parameters_to_context(dec, fmt->streams[st]->codecpar) < 0 ||
        avcodec_open2(dec, codec, NULL) < 0)
        goto out;
    while (!got && av_read_frame(fmt, pkt) >= 0) {
        if (pkt->stream_index == st && avcodec_send_packet(dec, pkt) >= 0 &&
            avcodec_receive_frame(dec, frame) >= 0)
            got = frame;
        av_packet_unref(pkt);
    }
    if (!got && avcodec_send_packet(dec, NULL) >= 0 && avcodec_receive_frame(dec, frame) >= 0)
        got = frame;
out:
    if (!got)
        av_frame_free(&frame);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    av_packet_free(&pkt);
    return got;
}

/* Real H.264/HEVC clips of known colours, BT.709, BT.601 and full range, decoded by FFmpeg. */
static void test_clips(void)
{
    const char *dir = getenv("VWALL_CLIPS");
    if (!dir)
        dir = VWALL_TEST_CLIPS_DIR;
    static const struct {
        const char *name;
        int r, g, b;
    } clips[] = {
        {"red.mp4", 255, 0, 0},           {"green.mp4", 0, 255, 0},
        {"blue.mp4", 0, 0, 255},          {"white.mp4", 255, 255, 255},
        {"yellow.mp4", 255, 255, 0},      {"magenta.mp4", 255, 0, 255},
        {"cyan.mp4", 0, 255, 255},        {"gray.mp4", 128, 128, 128},
        {"red-601.mp4", 255, 0, 0},       {"green-601.mp4", 0, 255, 0},
        {"blue-601.mp4", 0, 0, 255},      {"gray-601.mp4", 128, 128, 128},
        {"orange-full.mp4", 255, 128, 0}, {"red-hevc.mp4", 255, 0, 0},
    };
    for (size_t i = 0; i < sizeof clips / sizeof clips[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, clips[i].name);
        AVFrame *f = decode_first(path);
        if (!f)
            fprintf(stderr,
                    "  %s: can't decode (run scripts/make-clips.sh test DIR and set "
                    "VWALL_CLIPS=DIR)\n",
                    path);
        CHECK(f != NULL);
        if (!f)
            continue;
        struct vw_texture *tex = vw_texture_create(R);
        CHECK(vw_texture_upload(tex, f));
        struct vw_draw_tile tile = {.box = CANVAS, .fit = VW_FIT_STRETCH, .tex = tex};
        render(&tile, 1);
        int fails = check_failed;
        CHECK_PX(80, 90, clips[i].r, clips[i].g, clips[i].b);
        CHECK_PX(240, 90, clips[i].r, clips[i].g, clips[i].b);
        if (check_failed != fails)
            fprintf(stderr, "  ^ in %s (%s, %s, %s)\n", clips[i].name,
                    av_get_pix_fmt_name(f->format), av_color_space_name(f->colorspace),
                    av_color_range_name(f->color_range));
        vw_texture_destroy(tex);
        av_frame_free(&f);
    }
}

/* Counts pixels in [x0,x1)×[y0,y1) brighter than `min` in every channel. */
static int count_bright(int x0, int y0, int x1, int y1, int min)
{
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            const uint8_t *p = px(x, y);
            n += p[0] >= min && p[1] >= min && p[2] >= min;
        }
    return n;
}

static void test_slate(void)
{
    struct vw_texture *empty = vw_texture_create(R); /* never uploaded */
    struct vw_draw_tile tiles[2] = {
        {.box = {0, 0, 160, 180},
         .tex = NULL,
         .slate_title = "Lobby 大厅",
         .slate_detail = "NO SIGNAL · offline: Connection refused"},
        {.box = {170, 0, 330, 180}, .tex = empty, .slate_title = "Gate"},
    };
    render(tiles, 2);
    dump("slate");
    CHECK_PX(3, 3, 0x1a, 0x1f, 0x2b);
    CHECK_PX(156, 176, 0x1a, 0x1f, 0x2b);
    CHECK_PX(163, 3, 0x1a, 0x1f, 0x2b);
    /* The title is drawn (light text in the middle band), the detail below it. */
    CHECK(count_bright(0, 60, 160, 90, 150) > 20);
    CHECK(count_bright(0, 90, 160, 120, 100) > 5);
    CHECK(count_bright(160, 60, 320, 100, 150) > 20);
    CHECK(count_bright(0, 0, 160, 40, 100) == 0);
    vw_texture_destroy(empty);
}

static void test_label_and_badges(void)
{
    struct vw_texture *tex = vw_texture_create(R);
    AVFrame *f =
        solid_frame(AV_PIX_FMT_YUV420P, 64, 36, 0, 0, 255, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG);
    vw_texture_upload(tex, f);
    av_frame_free(&f);
    struct vw_draw_tile tiles[2] = {
        {.box = {0, 0, 160, 90},
         .fit = VW_FIT_STRETCH,
         .tex = tex,
         .label = "摄像机 1 Cam",
         .badge = VW_BADGE_STALLED,
         .badge_text = "STALLED 12 s"},
        {.box = {170, 0, 330, 90},
         .fit = VW_FIT_STRETCH,
         .tex = tex,
         .badge = VW_BADGE_RECONNECTING,
         .badge_text = "RECONNECTING"},
    };
    render(tiles, 2);
    dump("labels");
    /* label box: label_size (16) rows at the bottom-left, dark over blue, with white text */
    const uint8_t *p = px(1, 88);
    CHECK(p[2] < 140 && p[2] > 40 && p[0] < 10);
    CHECK(count_bright(0, 74, 100, 90, 200) > 10);
    CHECK_PX(80, 60, 0, 0, 255); /* picture outside the overlays */
    CHECK_PX(2, 72, 0, 0, 255);  /* just above the 16 px label box */
    /* stalled badge: red at the top-right of tile 0 */
    p = px(158, 2);
    CHECK(p[0] > 180 && p[1] < 60 && p[2] < 60);
    CHECK(count_bright(100, 0, 160, 16, 200) > 5);
    /* reconnecting badge: amber at the top-right of tile 1 */
    p = px(318, 2);
    CHECK(p[0] > 200 && p[1] > 120 && p[1] < 190 && p[2] < 60);
    CHECK_PX(161, 2, 0, 0, 255); /* tile 1's top-left: no badge */

    /* A reloaded wall file with label_size 32: the label box is 32 rows high. */
    CHECK(vw_renderer_set_labels(R, NULL, 32));
    render(tiles, 2);
    p = px(1, 60);
    CHECK(p[2] < 140 && p[2] > 40 && p[0] < 10); /* inside the 32 px box now */
    CHECK_PX(2, 56, 0, 0, 255);                  /* just above it */
    CHECK(vw_renderer_set_labels(R, NULL, 16));
    render(tiles, 2);
    CHECK_PX(1, 60, 0, 0, 255); /* back to 16 */
    vw_texture_destroy(tex);
}

/* No font: the renderer still works; slates and labels draw without text. */
static void test_no_font(void)
{
    struct vw_errors errs;
    vw_errors_init(&errs);
    struct vw_renderer_options opt = {.shader_dir = VWALL_TEST_SHADER_DIR,
                                      .font_path = "/nonexistent/font.ttf",
                                      .label_size = 16};
    struct vw_renderer *r = vw_renderer_create(&opt, &errs);
    CHECK(r != NULL);
    CHECK(!vw_errors_any(&errs));
    vw_errors_finish(&errs);
    if (!r)
        return;
    struct vw_renderer *keep = R;
    R = r;
    struct vw_draw_tile tile = {.box = {0, 0, 160, 180},
                                .slate_title = "Lobby",
                                .slate_detail = "NO SIGNAL",
                                .label = "Lobby"};
    render(&tile, 1);
    CHECK_PX(80, 80, 0x1a, 0x1f, 0x2b);
    CHECK(count_bright(0, 0, 160, 180, 100) == 0);
    const uint8_t *p = px(2, 170); /* the label box is drawn (empty) */
    CHECK(p[2] < 0x2b);
    R = keep;
    vw_renderer_destroy(r);
}

static void test_label_cache(void)
{
    struct vw_label_cache *c = vw_label_cache_create(NULL, 3);
    CHECK(c != NULL);
    CHECK(vw_label_cache_has_font(c));
    const struct vw_label *a = vw_label_get(c, "中文 label", 20);
    CHECK(a && a->tex && a->w > 20 && a->h >= 18 && a->h <= 30);
    unsigned tex_a = a ? a->tex : 0;
    const struct vw_label *a2 = vw_label_get(c, "中文 label", 20);
    CHECK(a2 && a2->tex == tex_a);
    const struct vw_label *b = vw_label_get(c, "中文 label", 40);
    CHECK(b && b->tex != tex_a && b->h > 30);
    CHECK(vw_label_get(c, "", 20) == NULL);
    CHECK(vw_label_cache_count(c) == 2);
    for (int i = 0; i < 2; i++) {
        vw_label_cache_end_frame(c);
        vw_label_get(c, "中文 label", 40); /* kept alive */
    }
    vw_label_cache_end_frame(c);
    vw_label_cache_end_frame(c);
    CHECK(vw_label_cache_count(c) == 1); /* the 20 px one went unused for 3 frames */
    for (int i = 0; i < 4; i++)
        vw_label_cache_end_frame(c);
    CHECK(vw_label_cache_count(c) == 0);
    vw_label_cache_destroy(c);

    /* A font that does not exist: no failure, labels are skipped. */
    c = vw_label_cache_create("/nonexistent/font.ttf", 3);
    CHECK(c != NULL && !vw_label_cache_has_font(c));
    CHECK(vw_label_get(c, "x", 20) == NULL);
    vw_label_cache_destroy(c);
}

static bool copy_file(const char *from, const char *to, int broken_line, const char *with)
{
    FILE *in = fopen(from, "r"), *out = fopen(to, "w");
    if (!in || !out) {
        if (in)
            fclose(in);
        if (out)
            fclose(out);
        return false;
    }
    char line[1024];
    for (int n = 1; fgets(line, sizeof line, in); n++)
        fputs(n == broken_line ? with : line, out);
    fclose(in);
    return fclose(out) == 0;
}

/* Line number of the first line of `path` containing `needle`, or -1. */
static int find_line(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[1024];
    int found = -1;
    for (int n = 1; fgets(line, sizeof line, f); n++)
        if (strstr(line, needle)) {
            found = n;
            break;
        }
    fclose(f);
    return found;
}

static void test_shader_errors(void)
{
    static const char *const files[] = {"tile.vert",  "yuv_planar.frag", "nv12.frag", "packed.frag",
                                        "solid.frag", "text.frag",       "copy.frag"};
    const int nfiles = (int)(sizeof files / sizeof files[0]);
    char dir[] = "/tmp/vwall-shaders-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char src[4096], dst[4096];
    snprintf(src, sizeof src, "%s/yuv_planar.frag", VWALL_TEST_SHADER_DIR);
    int bad = find_line(src, "vec3 yuv =");
    CHECK(bad > 2);
    for (int i = 0; i < nfiles; i++) {
        snprintf(src, sizeof src, "%s/%s", VWALL_TEST_SHADER_DIR, files[i]);
        snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
        CHECK(copy_file(src, dst, i == 1 ? bad : -1, "    vec3 yuv = no_such_thing;\n"));
    }
    struct vw_errors errs;
    vw_errors_init(&errs);
    struct vw_renderer_options opt = {.shader_dir = dir, .label_size = 16};
    struct vw_renderer *r = vw_renderer_create(&opt, &errs);
    CHECK(r == NULL);
    char want[4200];
    snprintf(want, sizeof want, "%s/yuv_planar.frag:%d: ", dir, bad);
    CHECK(strstr(vw_errors_first(&errs), want) != NULL);
    CHECK(strstr(vw_errors_first(&errs), "no_such_thing") != NULL);
    fprintf(stderr, "  shader error as reported: %s\n", vw_errors_first(&errs));
    vw_renderer_destroy(r);
    vw_errors_finish(&errs);

    /* A file without a #version line gets one prepended; lines still match the file. */
    snprintf(src, sizeof src, "%s/solid.frag", VWALL_TEST_SHADER_DIR);
    snprintf(dst, sizeof dst, "%s/solid.frag", dir);
    int bad_solid = find_line(src, "frag_color = u_color;");
    CHECK(bad_solid > 2);
    CHECK(copy_file(src, dst, bad_solid, "    frag_color = u_colour;\n"));
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", dst);
    CHECK(copy_file(dst, tmp, 1, "// (no version line)\n") && rename(tmp, dst) == 0);
    snprintf(src, sizeof src, "%s/yuv_planar.frag", VWALL_TEST_SHADER_DIR);
    snprintf(dst, sizeof dst, "%s/yuv_planar.frag", dir);
    CHECK(copy_file(src, dst, -1, NULL));
    vw_errors_init(&errs);
    r = vw_renderer_create(&opt, &errs);
    CHECK(r == NULL);
    snprintf(want, sizeof want, "%s/solid.frag:%d: ", dir, bad_solid);
    CHECK(strstr(vw_errors_first(&errs), want) != NULL);
    CHECK(strstr(vw_errors_first(&errs), "u_colour") != NULL);
    fprintf(stderr, "  shader error as reported: %s\n", vw_errors_first(&errs));
    vw_renderer_destroy(r);
    vw_errors_finish(&errs);
    snprintf(src, sizeof src, "%s/solid.frag", VWALL_TEST_SHADER_DIR);
    snprintf(dst, sizeof dst, "%s/solid.frag", dir);
    CHECK(copy_file(src, dst, -1, NULL));

    /* A missing shader file names the file. */
    snprintf(dst, sizeof dst, "%s/text.frag", dir);
    unlink(dst);
    vw_errors_init(&errs);
    r = vw_renderer_create(&opt, &errs);
    CHECK(r == NULL);
    snprintf(want, sizeof want, "%s/text.frag: can't open shader", dir);
    CHECK(strstr(vw_errors_first(&errs), want) != NULL);
    vw_renderer_destroy(r);
    vw_errors_finish(&errs);

    for (int i = 0; i < nfiles; i++) {
        snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
        unlink(dst);
    }
    rmdir(dir);
}

static void test_targets(void)
{
    struct vw_errors errs;
    vw_errors_init(&errs);
    struct vw_target *t = vw_target_create(R, 100000, 100, &errs);
    CHECK(t == NULL);
    CHECK(strstr(vw_errors_first(&errs), "100000x100") != NULL);
    CHECK(strstr(vw_errors_first(&errs), "GL_MAX_TEXTURE_SIZE") != NULL);
    vw_errors_finish(&errs);
    vw_errors_init(&errs);
    CHECK(vw_target_create(R, 0, 10, &errs) == NULL);
    vw_errors_finish(&errs);

    /* An 18-panel wall of 1920x1080 panels with 640x360 previews: 11520x3240. */
    GLint max_tex = 0;
    glGetIntegerv(GL_MAX_TEXTURE_SIZE, &max_tex);
    if (max_tex >= 11520) {
        vw_errors_init(&errs);
        t = vw_target_create(R, 11520, 3240, &errs);
        CHECK(t != NULL);
        vw_target_destroy(t);
        vw_errors_finish(&errs);
    }

    /* Row order: a tile on the top half only shows in the first rows read back. */
    struct vw_texture *tex = vw_texture_create(R);
    AVFrame *f =
        solid_frame(AV_PIX_FMT_YUV420P, 16, 16, 255, 255, 255, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG);
    vw_texture_upload(tex, f);
    av_frame_free(&f);
    struct vw_draw_tile tile = {.box = {0, 0, 330, 10}, .fit = VW_FIT_STRETCH, .tex = tex};
    render(&tile, 1);
    CHECK_PX(50, 0, 255, 255, 255);
    CHECK_PX(50, 9, 255, 255, 255);
    CHECK_PX(50, 10, 0, 0, 0);
    CHECK_PX(50, 179, 0, 0, 0);
    CHECK(px(50, 179)[3] == 255);
    vw_texture_destroy(tex);
}

static void test_png(void)
{
    /* Use whatever the last render left, plus a gradient with alpha in one corner. */
    for (int y = 0; y < 20; y++)
        for (int x = 0; x < 20; x++) {
            uint8_t *p = pixels + ((size_t)y * FB_W + x) * 4;
            p[0] = (uint8_t)(x * 12), p[1] = (uint8_t)(y * 12), p[2] = 77, p[3] = (uint8_t)(x * y);
        }
    char path[] = "/tmp/vwall-png-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    struct vw_errors errs;
    vw_errors_init(&errs);
    CHECK(vw_png_write(path, pixels, FB_W, FB_H, &errs));
    int w = 0, h = 0;
    uint8_t *back = vw_png_read(path, &w, &h, &errs);
    CHECK(back != NULL);
    CHECK(w == FB_W && h == FB_H);
    CHECK(back && memcmp(back, pixels, sizeof pixels) == 0);
    CHECK(!vw_errors_any(&errs));
    free(back);

    /* Not a PNG, and no file at all. */
    FILE *g = fopen(path, "w");
    fputs("this is not a png", g);
    fclose(g);
    CHECK(vw_png_read(path, &w, &h, &errs) == NULL);
    CHECK(strstr(vw_errors_first(&errs), path) != NULL);
    unlink(path);
    vw_errors_finish(&errs);
    vw_errors_init(&errs);
    CHECK(vw_png_read("/nonexistent/x.png", &w, &h, &errs) == NULL);
    CHECK(vw_errors_any(&errs));
    CHECK(!vw_png_write("/nonexistent/dir/x.png", pixels, FB_W, FB_H, &errs));
    vw_errors_finish(&errs);
}

int main(void)
{
    setenv("SDL_VIDEODRIVER", "offscreen", 0);
    if (SDL_Init(SDL_INIT_VIDEO) != 0) {
        fprintf(stderr, "test_renderer: SDL_Init: %s\n", SDL_GetError());
        return 1;
    }
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_PROFILE_MASK, SDL_GL_CONTEXT_PROFILE_CORE);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, 3);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MINOR_VERSION, 3);
    SDL_Window *win =
        SDL_CreateWindow("test_renderer", 0, 0, 64, 64, SDL_WINDOW_OPENGL | SDL_WINDOW_HIDDEN);
    SDL_GLContext ctx = win ? SDL_GL_CreateContext(win) : NULL;
    if (!ctx) {
        fprintf(stderr, "test_renderer: no GL 3.3 core context: %s\n", SDL_GetError());
        return 1;
    }
    vw_gl_keep_libraries_loaded();
    fprintf(stderr, "GL: %s / %s\n", (const char *)glGetString(GL_RENDERER),
            (const char *)glGetString(GL_VERSION));

    struct vw_errors errs;
    vw_errors_init(&errs);
    struct vw_renderer_options opt = {
        .shader_dir = VWALL_TEST_SHADER_DIR, .label_size = 16, .compose = VW_COMPOSE_GPU};
    R = vw_renderer_create(&opt, &errs);
    CHECK(R != NULL);
    if (!R) {
        fprintf(stderr, "vw_renderer_create: %s\n", vw_errors_first(&errs));
        return check_summary("test_renderer");
    }
    T = vw_target_create(R, FB_W, FB_H, &errs);
    CHECK(T != NULL);
    if (!T) {
        fprintf(stderr, "vw_target_create: %s\n", vw_errors_first(&errs));
        return check_summary("test_renderer");
    }
    vw_errors_finish(&errs);

    test_colours();
    CHECK(test_formats() > 150);
    test_huge_frame();
    test_rotation();
    test_reupload();
    test_clips();
    test_bezel();
    test_fit_fill_stretch();
    test_sampling();
    test_slate();
    test_label_and_badges();
    test_label_cache();
    test_no_font();
    test_targets();
    test_png();
    test_shader_errors();
    CHECK(glGetError() == GL_NO_ERROR);

    /* The pictures through libswscale (--compose cpu): the same tests where the picture must
     * be the same, and the two compared pixel by pixel. */
    struct vw_renderer *gpu = R;
    opt.compose = VW_COMPOSE_CPU;
    R = vw_renderer_create(&opt, &errs);
    CHECK(R != NULL);
    if (R) {
        CHECK(vw_renderer_compose(R) == VW_COMPOSE_CPU);
        CHECK(vw_renderer_compose(gpu) == VW_COMPOSE_GPU);
        fprintf(stderr, "-- pictures by the CPU\n");
        tol = 6;
        test_colours();
        CHECK(test_formats() > 150);
        test_huge_frame();
        test_rotation();
        test_reupload();
        test_clips();
        test_bezel();
        test_fit_fill_stretch();
        test_sampling_cpu();
        test_box_half();
        test_label_and_badges();
        test_cpu_matches_gpu(gpu, R);
        tol = 3;
        CHECK(glGetError() == GL_NO_ERROR);
        vw_renderer_destroy(R);
    }
    R = gpu;

    vw_target_destroy(T);
    vw_renderer_destroy(R);
    SDL_GL_DeleteContext(ctx);
    SDL_DestroyWindow(win);
    SDL_Quit();
    return check_summary("test_renderer");
}
