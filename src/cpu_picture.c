#include "cpu_picture.h"

#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "colour.h"

/* ---- A 2:1 box downscale of 8-bit 4:2:0 ----------------------------------------------
 *
 * The most common tile on a wall shows its camera at half size (1080p on 960x540, 720p on
 * 640x360), and there the chroma planes are already at the tile's size. Each output pixel
 * is then the mean of 2x2 luma samples and one Cb, Cr pair, converted with the same matrix
 * the shaders use (from Kr and Kb, limited or full range), in fixed point: within a code of
 * the exact result, where libswscale is up to 5 codes dark. On x86-64 CPUs with AVX2 (all
 * since 2013-2015) 16 pixels at a time with intrinsics, in 16-bit lanes: ~5x faster than
 * libswscale's general scaler here, and no longer dependent on how the compiler vectorises
 * at the build's -O level (docs/performance.md). Elsewhere a plain C loop, and every other
 * scale goes to libswscale. */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX2_ROWS 1
#else
#define HAVE_AVX2_ROWS 0
#endif

#define FIX 14

struct fixed_matrix {
    int y_off; /* 16 or 0 */
    /* C rows: 14-bit gains; cy4 is the luma gain for a sum of four samples */
    int cy4, crv, cgu, cgv, cbu;
    /* AVX2 rows: the same gains for _mm256_mulhrs_epi16 (x * q / 2^15, rounded), chosen so
     * that every product is the result in 1/64 of a code (see box_row_avx2) */
    int16_t q_cy, q_crv, q_cgu, q_cgv, q_cbu;
};

static struct fixed_matrix fixed_matrix(int matrix, bool full)
{
    double kr, kb;
    vw_colour_kr_kb(matrix, &kr, &kb);
    double kg = 1.0 - kr - kb;
    double cy = full ? 1.0 : 255.0 / 219.0, cc = full ? 1.0 : 255.0 / 224.0;
    double crv = cc * 2.0 * (1.0 - kr), cgu = cc * 2.0 * (1.0 - kb) * kb / kg,
           cgv = cc * 2.0 * (1.0 - kr) * kr / kg, cbu = cc * 2.0 * (1.0 - kb);
    double one = 1 << FIX;
    struct fixed_matrix m = {
        .y_off = full ? 0 : 16,
        .cy4 = (int)lround(cy * one / 4.0),
        .crv = (int)lround(crv * one),
        .cgu = (int)lround(cgu * one),
        .cgv = (int)lround(cgv * one),
        .cbu = (int)lround(cbu * one),
        /* all gains are below 2.2 (cbu, BT.2020 limited range): every q fits in 16 bits */
        .q_cy = (int16_t)lround(cy * 16384.0),
        .q_crv = (int16_t)lround(crv * 8192.0),
        .q_cgu = (int16_t)lround(cgu * 8192.0),
        .q_cgv = (int16_t)lround(cgv * 8192.0),
        .q_cbu = (int16_t)lround(cbu * 8192.0),
    };
    return m;
}

static inline uint8_t clamp8(int v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Pixels [x, w) of one output row, from two luma rows and one row of Cb and Cr (`cstep`
 * bytes apart: 1 for separate planes, 2 for NV12's interleaved pairs). */
static void box_row_c(const uint8_t *restrict y0, const uint8_t *restrict y1,
                      const uint8_t *restrict cb, const uint8_t *restrict cr, int cstep,
                      uint8_t *restrict out, int x, int w, const struct fixed_matrix *mp)
{
    const struct fixed_matrix m = *mp;
    const int round = 1 << (FIX - 1), yo4 = 4 * m.y_off;
    for (; x < w; x++) {
        int l = m.cy4 * (y0[2 * x] + y0[2 * x + 1] + y1[2 * x] + y1[2 * x + 1] - yo4) + round;
        int u = cb[x * cstep] - 128, v = cr[x * cstep] - 128;
        out[4 * x + 0] = clamp8((l + m.crv * v) >> FIX);
        out[4 * x + 1] = clamp8((l - m.cgu * u - m.cgv * v) >> FIX);
        out[4 * x + 2] = clamp8((l + m.cbu * u) >> FIX);
        out[4 * x + 3] = 255;
    }
}

#if HAVE_AVX2_ROWS
/* box_row_c, 16 pixels at a time; the last w % 16 by box_row_c. Each term is computed in
 * 1/64 of a code, in 16-bit lanes:
 *   luma   ((sum of 4 - 4*y_off) << 5) * q_cy / 2^15  = mean * cy * 64   (q_cy  = cy * 2^14)
 *   chroma ((C - 128) << 8) * q / 2^15                = (C - 128) * c * 64 (q = c * 2^13)
 * (C - 128) << 8 is C in the high byte with its top bit flipped. The terms are added with
 * saturation (an overshoot to 511 codes is still 255), rounded, shifted down, and packed
 * to bytes with unsigned saturation, which is the clamp to 0..255. */
__attribute__((target("avx2"))) static void box_row_avx2(const uint8_t *y0, const uint8_t *y1,
                                                         const uint8_t *cb, const uint8_t *cr,
                                                         int cstep, uint8_t *out, int w,
                                                         const struct fixed_matrix *m)
{
    const __m256i ones = _mm256_set1_epi8(1), yo4 = _mm256_set1_epi16((short)(4 * m->y_off));
    const __m256i q_cy = _mm256_set1_epi16(m->q_cy), q_crv = _mm256_set1_epi16(m->q_crv),
                  q_cgu = _mm256_set1_epi16(m->q_cgu), q_cgv = _mm256_set1_epi16(m->q_cgv),
                  q_cbu = _mm256_set1_epi16(m->q_cbu);
    const __m256i half = _mm256_set1_epi16(32), alpha = _mm256_set1_epi16(255),
                  flip = _mm256_set1_epi16((short)0x8000), high = _mm256_set1_epi16((short)0xff00);
    int x = 0;
    for (; x + 16 <= w; x += 16) {
        /* 16 sums of 2x2 luma: adjacent pairs of each row (maddubs by 1), then the rows */
        __m256i a = _mm256_loadu_si256((const __m256i *)(y0 + 2 * x));
        __m256i b = _mm256_loadu_si256((const __m256i *)(y1 + 2 * x));
        __m256i s = _mm256_add_epi16(_mm256_maddubs_epi16(a, ones), _mm256_maddubs_epi16(b, ones));
        __m256i l = _mm256_mulhrs_epi16(_mm256_slli_epi16(_mm256_sub_epi16(s, yo4), 5), q_cy);
        __m256i u, v;
        if (cstep == 2) { /* NV12: 16 Cb,Cr pairs, Cb in each 16-bit lane's low byte */
            __m256i c = _mm256_loadu_si256((const __m256i *)(cb + 2 * x));
            u = _mm256_xor_si256(_mm256_slli_epi16(c, 8), flip);
            v = _mm256_xor_si256(_mm256_and_si256(c, high), flip);
        } else {
            __m256i c = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(cb + x)));
            __m256i d = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(cr + x)));
            u = _mm256_xor_si256(_mm256_slli_epi16(c, 8), flip);
            v = _mm256_xor_si256(_mm256_slli_epi16(d, 8), flip);
        }
        __m256i r = _mm256_adds_epi16(l, _mm256_mulhrs_epi16(v, q_crv));
        __m256i g = _mm256_subs_epi16(_mm256_subs_epi16(l, _mm256_mulhrs_epi16(u, q_cgu)),
                                      _mm256_mulhrs_epi16(v, q_cgv));
        __m256i bl = _mm256_adds_epi16(l, _mm256_mulhrs_epi16(u, q_cbu));
        r = _mm256_srai_epi16(_mm256_adds_epi16(r, half), 6);
        g = _mm256_srai_epi16(_mm256_adds_epi16(g, half), 6);
        bl = _mm256_srai_epi16(_mm256_adds_epi16(bl, half), 6);
        /* To RGBA. The packs and unpacks work within each 128-bit half: with pixels 0-7 in
         * the low half and 8-15 in the high one, p0 holds pixels 0-3 | 8-11, p1 4-7 | 12-15. */
        __m256i rb = _mm256_packus_epi16(r, bl), ga = _mm256_packus_epi16(g, alpha);
        __m256i rg = _mm256_unpacklo_epi8(rb, ga), ba = _mm256_unpackhi_epi8(rb, ga);
        __m256i p0 = _mm256_unpacklo_epi16(rg, ba), p1 = _mm256_unpackhi_epi16(rg, ba);
        _mm256_storeu_si256((__m256i *)(out + 4 * x), _mm256_permute2x128_si256(p0, p1, 0x20));
        _mm256_storeu_si256((__m256i *)(out + 4 * x + 32), _mm256_permute2x128_si256(p0, p1, 0x31));
    }
    box_row_c(y0, y1, cb, cr, cstep, out, x, w, m);
}
#endif

/* The crop (x0, y0: even) of an 8-bit 4:2:0 frame at half size into dst, bottom row first,
 * with AVX2 when `avx2`. false when the frame is not such a frame. */
static bool box_half(const AVFrame *f, int x0, int y0, int dw, int dh, uint8_t *dst, int stride,
                     const struct fixed_matrix *m, bool avx2)
{
    bool nv12 = f->format == AV_PIX_FMT_NV12;
    if (f->format != AV_PIX_FMT_YUV420P && !nv12)
        return false;
    int cstep = nv12 ? 2 : 1;
    for (int y = 0; y < dh; y++) {
        const uint8_t *l0 = f->data[0] + (ptrdiff_t)(y0 + 2 * y) * f->linesize[0] + x0;
        const uint8_t *l1 = l0 + f->linesize[0];
        const uint8_t *cb = f->data[1] + (ptrdiff_t)(y0 / 2 + y) * f->linesize[1] + x0 / 2 * cstep;
        const uint8_t *cr =
            nv12 ? cb + 1 : f->data[2] + (ptrdiff_t)(y0 / 2 + y) * f->linesize[2] + x0 / 2;
        uint8_t *out = dst + (size_t)(dh - 1 - y) * stride;
#if HAVE_AVX2_ROWS
        if (avx2) {
            box_row_avx2(l0, l1, cb, cr, cstep, out, dw, m);
            continue;
        }
#endif
        box_row_c(l0, l1, cb, cr, cstep, out, 0, dw, m);
    }
    return true;
}

/* One size the picture is shown at: a libswscale context for it and its last result. Two
 * of them, so that a source shown in a big and a small tile scales each frame once per
 * size instead of making a new context on every draw. */
struct scaled {
    struct SwsContext *sws;
    int key[5]; /* source crop w, h, format and destination w, h the context is for */
    int matrix;
    bool full;
    struct vw_cpu_crop crop;
    uint8_t *buf; /* av_malloc'ed: PAD bytes, the picture's rows, PAD bytes */
    size_t buf_size;
    uint8_t *rgba; /* the picture: buf + PAD, rows of `stride` bytes, bottom row first */
    int stride;
    unsigned long serial; /* the frame in rgba; 0: none */
    unsigned long used;   /* when it was last asked for, to replace the older one */
};

#define SLOTS 2
/* libswscale's SIMD code writes whole vectors, past a row's last pixel: rows are padded to
 * 64 bytes and the buffer has 64 spare bytes at each end, as FFmpeg's own buffers do. */
#define PAD 64

struct vw_cpu_picture {
    AVFrame *frame;       /* our copy of the last frame; its buffers reused while the size holds */
    unsigned long serial; /* counts set_frame calls */
    int matrix;           /* AVCOL_SPC_* the frame was encoded with (see set_frame) */
    bool full;            /* full-range samples */
    struct scaled slot[SLOTS];
    unsigned long uses;
    bool avx2; /* box rows with AVX2 (see vw_cpu_picture_use_simd) */
};

struct vw_cpu_picture *vw_cpu_picture_create(void)
{
    struct vw_cpu_picture *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->frame = av_frame_alloc();
    if (!p->frame) {
        free(p);
        return NULL;
    }
    vw_cpu_picture_use_simd(p, true);
    return p;
}

void vw_cpu_picture_use_simd(struct vw_cpu_picture *p, bool on)
{
#if HAVE_AVX2_ROWS
    p->avx2 = on && __builtin_cpu_supports("avx2");
#else
    p->avx2 = false;
#endif
}

void vw_cpu_picture_destroy(struct vw_cpu_picture *p)
{
    if (!p)
        return;
    av_frame_free(&p->frame);
    for (int i = 0; i < SLOTS; i++) {
        sws_freeContext(p->slot[i].sws);
        av_free(p->slot[i].buf);
    }
    free(p);
}

/* The yuvj* formats are their yuv* twins with full-range samples; libswscale wants the
 * twin and the range said separately (it warns about the j formats). */
static enum AVPixelFormat unjpeg(enum AVPixelFormat f, bool *full)
{
    static const enum AVPixelFormat pairs[][2] = {
        {AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUV420P}, {AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUV422P},
        {AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_YUV444P}, {AV_PIX_FMT_YUVJ440P, AV_PIX_FMT_YUV440P},
        {AV_PIX_FMT_YUVJ411P, AV_PIX_FMT_YUV411P},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        if (pairs[i][0] == f) {
            *full = true;
            return pairs[i][1];
        }
    return f;
}

/* Whether libswscale (and so this module) reads f; its format with a yuvj* format replaced
 * by its twin, and whether its samples are full range. */
static bool readable(const AVFrame *f, enum AVPixelFormat *fmt, bool *full)
{
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(f->format);
    if (!desc || (desc->flags & AV_PIX_FMT_FLAG_HWACCEL) || !sws_isSupportedInput(f->format))
        return false;
    *full = f->color_range == AVCOL_RANGE_JPEG || (desc->flags & AV_PIX_FMT_FLAG_RGB);
    *fmt = unjpeg(f->format, full);
    return true;
}

/* A new picture from f (before f is moved): its matrix and range. */
static void new_picture(struct vw_cpu_picture *p, const AVFrame *f, bool full)
{
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(f->format);
    p->matrix = (desc->flags & AV_PIX_FMT_FLAG_RGB) ? AVCOL_SPC_BT709 : vw_colour_matrix(f);
    p->full = full;
    p->serial++;
}

bool vw_cpu_picture_set_frame(struct vw_cpu_picture *p, const AVFrame *f)
{
    enum AVPixelFormat fmt;
    bool full;
    if (!readable(f, &fmt, &full))
        return false;
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(f->format);
    AVFrame *c = p->frame;
    /* Buffers are reused while the size holds, but never those of a taken frame that others
     * still refer to (a decoder's reference picture). */
    if (c->format != fmt || c->width != f->width || c->height != f->height ||
        !av_frame_is_writable(c)) {
        av_frame_unref(c);
        c->format = fmt;
        c->width = f->width;
        c->height = f->height;
        if (av_frame_get_buffer(c, 0) < 0) {
            av_frame_unref(c);
            c->format = AV_PIX_FMT_NONE;
            return false;
        }
    }
    /* av_frame_copy() compares the formats: copy the planes of the j twin by hand. */
    int planes = av_pix_fmt_count_planes(fmt);
    for (int i = 0; i < planes; i++) {
        int shift_y = (i == 1 || i == 2) ? desc->log2_chroma_h : 0;
        int rows = -((-f->height) >> shift_y);
        int bytes = av_image_get_linesize(fmt, f->width, i);
        for (int y = 0; y < rows; y++)
            memcpy(c->data[i] + (ptrdiff_t)y * c->linesize[i],
                   f->data[i] + (ptrdiff_t)y * f->linesize[i], (size_t)bytes);
    }
    if ((desc->flags & AV_PIX_FMT_FLAG_PAL) && f->data[1] && c->data[1])
        memcpy(c->data[1], f->data[1], AVPALETTE_SIZE);
    new_picture(p, f, full);
    return true;
}

bool vw_cpu_picture_take_frame(struct vw_cpu_picture *p, AVFrame *f)
{
    if (!f->buf[0])
        return vw_cpu_picture_set_frame(p, f); /* not reference-counted: nothing to take */
    enum AVPixelFormat fmt;
    bool full;
    if (!readable(f, &fmt, &full))
        return false;
    new_picture(p, f, full);
    av_frame_unref(p->frame);
    av_frame_move_ref(p->frame, f);
    p->frame->format = fmt; /* the yuv* twin of a yuvj* frame: the range is in p->full */
    return true;
}

int vw_cpu_picture_width(const struct vw_cpu_picture *p)
{
    return p->frame->width;
}

int vw_cpu_picture_height(const struct vw_cpu_picture *p)
{
    return p->frame->height;
}

/* Rounds a crop fraction to whole pixels, down to the chroma grid so that the Y and CbCr
 * planes start at the same place. */
static int crop_px(double frac, int size, int align)
{
    long v = lround(frac * size);
    v -= v % align;
    return v < 0 ? 0 : v > size ? size : (int)v;
}

/* The slot made for this crop and size, or the one used longest ago, emptied. */
static struct scaled *find_slot(struct vw_cpu_picture *p, const int key[5], struct vw_cpu_crop crop)
{
    struct scaled *oldest = &p->slot[0];
    for (int i = 0; i < SLOTS; i++) {
        struct scaled *s = &p->slot[i];
        if (s->sws && memcmp(s->key, key, sizeof s->key) == 0 &&
            memcmp(&s->crop, &crop, sizeof crop) == 0)
            return s;
        if (s->used < oldest->used)
            oldest = s;
    }
    sws_freeContext(oldest->sws);
    oldest->sws = NULL;
    oldest->serial = 0;
    return oldest;
}

const uint8_t *vw_cpu_picture_scaled(struct vw_cpu_picture *p, struct vw_cpu_crop crop, int dw,
                                     int dh, int *stride)
{
    AVFrame *f = p->frame;
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(f->format);
    if (p->serial == 0 || !desc || f->width <= 0 || dw <= 0 || dh <= 0)
        return NULL; /* nothing yet, or the last copy failed for want of memory */
    int ax = 1 << desc->log2_chroma_w, ay = 1 << desc->log2_chroma_h;
    int x0 = crop_px(crop.x0, f->width, ax), y0 = crop_px(crop.y0, f->height, ay);
    int x1 = crop_px(crop.x1, f->width, 1), y1 = crop_px(crop.y1, f->height, 1);
    if (x1 - x0 < 1 || y1 - y0 < 1)
        return NULL;
    int sw = x1 - x0, sh = y1 - y0;

    int key[5] = {sw, sh, f->format, dw, dh};
    struct scaled *s = find_slot(p, key, crop);
    s->used = ++p->uses;
    if (s->serial == p->serial) {
        *stride = s->stride;
        return s->rgba; /* this frame at this size already */
    }
    if (!s->sws) {
        s->sws = sws_getContext(sw, sh, f->format, dw, dh, AV_PIX_FMT_RGBA, SWS_BILINEAR, NULL,
                                NULL, NULL);
        if (!s->sws)
            return NULL;
        memcpy(s->key, key, sizeof key);
        s->crop = crop;
        s->matrix = -1;
    }
    if (s->matrix != p->matrix || s->full != p->full) {
        const int *coeffs = sws_getCoefficients(p->matrix);
        sws_setColorspaceDetails(s->sws, coeffs, p->full, coeffs, 1, 0, 1 << 16, 1 << 16);
        s->matrix = p->matrix;
        s->full = p->full;
    }
    int row = (dw * 4 + PAD - 1) / PAD * PAD;
    size_t need = (size_t)row * dh + 2 * PAD;
    if (s->buf_size < need) {
        av_free(s->buf);
        s->buf_size = 0;
        if (!(s->buf = av_malloc(need)))
            return NULL;
        s->buf_size = need;
    }
    s->rgba = s->buf + PAD;
    s->stride = row;
    /* The crop as plane pointers; the output written bottom row first (a negative stride),
     * the order of a GL texture's rows. */
    const uint8_t *src[4] = {NULL, NULL, NULL, NULL};
    int src_stride[4] = {0, 0, 0, 0};
    for (int i = 0; i < 4 && f->data[i]; i++) {
        bool chroma = i == 1 || i == 2;
        int sx = chroma ? x0 >> desc->log2_chroma_w : x0;
        int sy = chroma ? y0 >> desc->log2_chroma_h : y0;
        int step = 0; /* bytes per sample in plane i */
        for (int c = 0; c < desc->nb_components; c++)
            if (desc->comp[c].plane == i)
                step = desc->comp[c].step;
        src[i] = f->data[i] + (ptrdiff_t)sy * f->linesize[i] + (ptrdiff_t)sx * step;
        src_stride[i] = f->linesize[i];
    }
    if (sw == 2 * dw && sh == 2 * dh) {
        struct fixed_matrix m = fixed_matrix(p->matrix, p->full);
        if (box_half(f, x0, y0, dw, dh, s->rgba, row, &m, p->avx2)) {
            s->serial = p->serial;
            *stride = row;
            return s->rgba;
        }
    }
    uint8_t *dst[4] = {s->rgba + (size_t)(dh - 1) * row, NULL, NULL, NULL};
    int dst_stride[4] = {-row, 0, 0, 0};
    if (sws_scale(s->sws, src, src_stride, 0, sh, dst, dst_stride) != dh)
        return NULL;
    s->serial = p->serial;
    *stride = row;
    return s->rgba;
}
