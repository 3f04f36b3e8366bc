#include "render/cpu_picture.h"

#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "render/colour.h"
#include "render/scale420.h"

/* One size the picture is shown at: how to scale to it (a plan of our own for 8-bit 4:2:0,
 * a libswscale context for any other format) and the last result. Two of them, so that a
 * source shown in a big and a small tile scales each frame once per size instead of
 * setting up again on every draw. */
struct scaled {
    bool made;  /* set up for key and crop */
    int key[5]; /* source crop w, h, format and destination w, h */
    struct vw_cpu_crop crop;
    struct vw_scale420 *plan; /* 8-bit 4:2:0 at any size but exactly half */
    struct SwsContext *sws;   /* other formats */
    int matrix;               /* what sws was told */
    bool full;
    uint8_t *buf; /* av_malloc'ed: PAD bytes, the picture's rows, PAD bytes */
    size_t buf_size;
    uint8_t *rgba; /* the picture: buf + PAD, rows of `stride` bytes, bottom row first */
    int stride;
    unsigned long serial; /* the frame in rgba; 0: none */
    unsigned long used;   /* when it was last asked for, to replace the older one */
    /* a picture stored on its side: rgba turned upright, as vw_cpu_picture_scaled gives it */
    uint8_t *turned; /* av_malloc'ed, rows of turned_stride bytes, bottom row first */
    size_t turned_size;
    int turned_stride;
    unsigned long turned_serial;
};

#define SLOTS 2
/* libswscale's SIMD code writes whole vectors, past a row's last pixel: rows are padded to
 * 64 bytes and the buffer has 64 spare bytes at each end, as FFmpeg's own buffers do. */
#define PAD 64

struct vw_cpu_picture {
    struct SwsContext *widen; /* rgb565, rgb555, rgb8…: to rgba at the frame's size (set_frame) */
    AVFrame *frame;       /* our copy of the last frame; its buffers reused while the size holds */
    unsigned long serial; /* counts set_frame calls */
    int matrix;           /* AVCOL_SPC_* the frame was encoded with (see set_frame) */
    int rotation;         /* clockwise degrees to show it upright (vw_picture_rotation) */
    bool full;            /* full-range samples */
    struct vw_yuv_matrix yuv; /* the two as gains, for src/scale420.c */
    struct scaled slot[SLOTS];
    unsigned long uses;
    bool avx2; /* scale420 with AVX2 (see vw_cpu_picture_use_simd) */
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

/* Empties a slot: nothing scaled in it, nothing set up. */
static void clear_slot(struct scaled *s)
{
    sws_freeContext(s->sws);
    s->sws = NULL;
    vw_scale420_destroy(s->plan);
    s->plan = NULL;
    s->made = false;
    s->serial = 0;
    s->turned_serial = 0;
}

void vw_cpu_picture_use_simd(struct vw_cpu_picture *p, bool on)
{
    p->avx2 = on && vw_scale420_have_avx2();
    for (int i = 0; i < SLOTS; i++) /* set up for the other rows */
        clear_slot(&p->slot[i]);
}

void vw_cpu_picture_destroy(struct vw_cpu_picture *p)
{
    if (!p)
        return;
    av_frame_free(&p->frame);
    sws_freeContext(p->widen);
    for (int i = 0; i < SLOTS; i++) {
        sws_freeContext(p->slot[i].sws);
        vw_scale420_destroy(p->slot[i].plan);
        av_free(p->slot[i].buf);
        av_free(p->slot[i].turned);
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
    *full = vw_colour_full_range(f);
    *fmt = unjpeg(f->format, full);
    return true;
}

/* A new picture from f (before f is moved): its matrix and range. */
static void new_picture(struct vw_cpu_picture *p, const AVFrame *f, bool full)
{
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(f->format);
    int matrix = (desc->flags & AV_PIX_FMT_FLAG_RGB) ? AVCOL_SPC_BT709 : vw_colour_matrix(f);
    /* the gains once per stream, not per frame (p->matrix starts as 0, which no frame has) */
    if (matrix != p->matrix || full != p->full)
        p->yuv = vw_yuv_matrix(matrix, full);
    p->matrix = matrix;
    p->full = full;
    p->serial++;
}

/* RGB of fewer than 8 bits a component (rgb565, rgb555, rgb444, rgb8, rgb4_byte). libswscale's
 * scaled path widens those by a shift (31 -> 248), its unscaled one repeats the bits (31 ->
 * 255, FFmpeg's colour): such a frame is widened to rgba first, unscaled, then scaled. */
static bool narrow_rgb(const AVPixFmtDescriptor *d)
{
    if (!(d->flags & AV_PIX_FMT_FLAG_RGB) || (d->flags & AV_PIX_FMT_FLAG_BAYER))
        return false;
    for (int i = 0; i < d->nb_components && i < 3; i++)
        if (d->comp[i].depth < 8)
            return true;
    return false;
}

bool vw_cpu_picture_set_frame(struct vw_cpu_picture *p, const AVFrame *f)
{
    enum AVPixelFormat fmt;
    bool full;
    if (!readable(f, &fmt, &full))
        return false;
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(f->format);
    bool widen = narrow_rgb(desc);
    if (widen) {
        fmt = AV_PIX_FMT_RGBA;
        p->widen = sws_getCachedContext(p->widen, f->width, f->height, f->format, f->width,
                                        f->height, fmt, SWS_POINT, NULL, NULL, NULL);
        if (!p->widen)
            return false;
    }
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
    if (widen) {
        if (sws_scale(p->widen, (const uint8_t *const *)f->data, f->linesize, 0, f->height, c->data,
                      c->linesize) != f->height)
            return false;
        new_picture(p, f, full);
        return true;
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
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(f->format);
    if (!f->buf[0] || (desc && narrow_rgb(desc)))
        return vw_cpu_picture_set_frame(p, f); /* nothing to take, or widened anyway */
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

void vw_cpu_picture_set_rotation(struct vw_cpu_picture *p, int degrees)
{
    if (degrees != 90 && degrees != 180 && degrees != 270)
        degrees = 0;
    if (degrees != p->rotation)
        for (int i = 0; i < SLOTS; i++) /* made for the other way round */
            clear_slot(&p->slot[i]);
    p->rotation = degrees;
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

/* The grid a crop starts on, so that every plane starts at a whole sample and byte: the
 * chroma grid (2 for 4:2:x), a whole byte of a 1-bit (8) or 4-bit (2) picture, a whole 2x2
 * Bayer quad. */
static void crop_grid(const AVPixFmtDescriptor *d, int *ax, int *ay)
{
    *ax = 1 << d->log2_chroma_w;
    *ay = 1 << d->log2_chroma_h;
    if ((d->flags & AV_PIX_FMT_FLAG_BITSTREAM) && d->comp[0].step > 0 && d->comp[0].step < 8)
        *ax = 8 / d->comp[0].step; /* step counts bits here */
    if (d->flags & AV_PIX_FMT_FLAG_BAYER)
        *ax = *ay = 2;
}

/* Where the crop starting at (x0, y0) (on the crop_grid) starts in plane i, in bytes. A plane
 * holding no component (pal8's palette) is not moved. */
static ptrdiff_t plane_offset(const AVPixFmtDescriptor *d, int i, int x0, int y0, int linesize)
{
    int step = 0; /* from one pixel (or chroma sample) to the next: the smallest step in plane i */
    bool chroma = false;
    for (int c = 0; c < d->nb_components; c++)
        if (d->comp[c].plane == i && (step == 0 || d->comp[c].step < step)) {
            step = d->comp[c].step;
            chroma = !(d->flags & AV_PIX_FMT_FLAG_RGB) && (c == 1 || c == 2);
        }
    if (step == 0)
        return 0;
    int sx = chroma ? x0 >> d->log2_chroma_w : x0;
    int sy = chroma ? y0 >> d->log2_chroma_h : y0;
    ptrdiff_t bytes_x =
        (d->flags & AV_PIX_FMT_FLAG_BITSTREAM) ? (ptrdiff_t)sx * step / 8 : (ptrdiff_t)sx * step;
    return (ptrdiff_t)sy * linesize + bytes_x;
}

/* The slot made for this crop and size, or the one used longest ago, emptied. */
static struct scaled *find_slot(struct vw_cpu_picture *p, const int key[5], struct vw_cpu_crop crop)
{
    struct scaled *oldest = &p->slot[0];
    for (int i = 0; i < SLOTS; i++) {
        struct scaled *s = &p->slot[i];
        if (s->made && memcmp(s->key, key, sizeof s->key) == 0 &&
            memcmp(&s->crop, &crop, sizeof crop) == 0)
            return s;
        if (s->used < oldest->used)
            oldest = s;
    }
    clear_slot(oldest);
    return oldest;
}

static const uint8_t *scaled_stored(struct vw_cpu_picture *p, struct vw_cpu_crop crop, int dw,
                                    int dh, int *stride, struct scaled **slot);

/* s's picture (sw x sh, as stored) turned `rotation` degrees clockwise into s->turned, dw x
 * dh. Display pixel (X, Y) shows stored (Y, sh-1-X) at 90, (dw-1-X, dh-1-Y) at 180,
 * (dh-1-Y, X) at 270; both buffers hold their bottom row first. */
static const uint8_t *turn(struct scaled *s, const uint8_t *src, int src_stride, int rotation,
                           int dw, int dh, int *stride)
{
    int row = (dw * 4 + PAD - 1) / PAD * PAD;
    size_t need = (size_t)row * dh + 2 * PAD;
    if (s->turned_size < need) {
        av_free(s->turned);
        s->turned_size = 0;
        if (!(s->turned = av_malloc(need)))
            return NULL;
        s->turned_size = need;
    }
    int sh = rotation == 180 ? dh : dw; /* stored rows */
    uint8_t *dst = s->turned + PAD;
    for (int y = 0; y < dh; y++) {
        uint8_t *d = dst + (size_t)(dh - 1 - y) * row;
        for (int x = 0; x < dw; x++) {
            int sx, sy;
            if (rotation == 90)
                sx = y, sy = dw - 1 - x;
            else if (rotation == 180)
                sx = dw - 1 - x, sy = dh - 1 - y;
            else
                sx = dh - 1 - y, sy = x;
            memcpy(d + 4 * x, src + (size_t)(sh - 1 - sy) * src_stride + 4 * sx, 4);
        }
    }
    s->turned_stride = row;
    *stride = row;
    return dst;
}

const uint8_t *vw_cpu_picture_scaled(struct vw_cpu_picture *p, struct vw_cpu_crop crop, int dw,
                                     int dh, int *stride)
{
    int rot = p->rotation;
    if (rot == 0)
        return scaled_stored(p, crop, dw, dh, stride, NULL);
    /* the crop and size as stored: shown (u, v) is stored (v, 1-u) at 90, (1-u, 1-v) at 180,
     * (1-v, u) at 270 */
    struct vw_cpu_crop c = crop;
    if (rot == 90)
        c = (struct vw_cpu_crop){crop.y0, 1.0 - crop.x1, crop.y1, 1.0 - crop.x0};
    else if (rot == 180)
        c = (struct vw_cpu_crop){1.0 - crop.x1, 1.0 - crop.y1, 1.0 - crop.x0, 1.0 - crop.y0};
    else
        c = (struct vw_cpu_crop){1.0 - crop.y1, crop.x0, 1.0 - crop.y0, crop.x1};
    struct scaled *s = NULL;
    int src_stride;
    const uint8_t *src =
        scaled_stored(p, c, rot == 180 ? dw : dh, rot == 180 ? dh : dw, &src_stride, &s);
    if (!src)
        return NULL;
    if (s->turned_serial == p->serial) {
        *stride = s->turned_stride;
        return s->turned + PAD;
    }
    const uint8_t *out = turn(s, src, src_stride, rot, dw, dh, stride);
    s->turned_serial = out ? p->serial : 0;
    return out;
}

/* vw_cpu_picture_scaled for the picture as stored; *slot (when asked) the slot it is in. */
static const uint8_t *scaled_stored(struct vw_cpu_picture *p, struct vw_cpu_crop crop, int dw,
                                    int dh, int *stride, struct scaled **slot)
{
    AVFrame *f = p->frame;
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(f->format);
    if (p->serial == 0 || !desc || f->width <= 0 || dw <= 0 || dh <= 0)
        return NULL; /* nothing yet, or the last copy failed for want of memory */
    int ax, ay;
    crop_grid(desc, &ax, &ay);
    int x0 = crop_px(crop.x0, f->width, ax), y0 = crop_px(crop.y0, f->height, ay);
    int x1 = crop_px(crop.x1, f->width, 1), y1 = crop_px(crop.y1, f->height, 1);
    if (x1 - x0 < 1 || y1 - y0 < 1)
        return NULL;
    int sw = x1 - x0, sh = y1 - y0;

    int key[5] = {sw, sh, f->format, dw, dh};
    struct scaled *s = find_slot(p, key, crop);
    s->used = ++p->uses;
    if (slot)
        *slot = s;
    if (s->serial == p->serial) {
        *stride = s->stride;
        return s->rgba; /* this frame at this size already */
    }
    /* yuvj420p arrives as its twin yuv420p (set_frame). Our scaler does 8-bit 4:2:0 at half
     * size always and at other sizes with AVX2; libswscale the rest (src/scale420.h). */
    bool is420 = f->format == AV_PIX_FMT_YUV420P || f->format == AV_PIX_FMT_NV12;
    bool half = is420 && sw == 2 * dw && sh == 2 * dh;
    bool ours = half || (is420 && p->avx2);
    if (!s->made) {
        if (ours && !half && !(s->plan = vw_scale420_create(sw, sh, dw, dh)))
            return NULL;
        if (!ours && !(s->sws = sws_getContext(sw, sh, f->format, dw, dh, AV_PIX_FMT_RGBA,
                                               SWS_BILINEAR, NULL, NULL, NULL)))
            return NULL;
        s->made = true;
        memcpy(s->key, key, sizeof key);
        s->crop = crop;
        s->matrix = -1;
    }
    if (s->sws && (s->matrix != p->matrix || s->full != p->full)) {
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
        src[i] = f->data[i] + plane_offset(desc, i, x0, y0, f->linesize[i]);
        src_stride[i] = f->linesize[i];
    }
    if (ours) {
        bool nv12 = f->format == AV_PIX_FMT_NV12;
        struct vw_yuv420 v = {
            .y = src[0],
            .cb = src[1],
            .cr = nv12 ? src[1] + 1 : src[2],
            .y_stride = src_stride[0],
            .cb_stride = src_stride[1],
            .cr_stride = nv12 ? src_stride[1] : src_stride[2],
            .cstep = nv12 ? 2 : 1,
        };
        if (half)
            vw_scale420_half(&v, dw, dh, s->rgba, row, &p->yuv, p->avx2);
        else
            vw_scale420_run(s->plan, &v, s->rgba, row, &p->yuv);
        s->serial = p->serial;
        *stride = row;
        return s->rgba;
    }
    uint8_t *dst[4] = {s->rgba + (size_t)(dh - 1) * row, NULL, NULL, NULL};
    int dst_stride[4] = {-row, 0, 0, 0};
    if (sws_scale(s->sws, src, src_stride, 0, sh, dst, dst_stride) != dh)
        return NULL;
    s->serial = p->serial;
    *stride = row;
    return s->rgba;
}
