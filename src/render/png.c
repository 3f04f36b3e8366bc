#include "render/png.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#include <libavcodec/avcodec.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PNG_MAX_FILE_BYTES (512u << 20) /* a 16384x16384 RGBA picture compresses well below */
#define PNG_MAX_DIM 32768

static const char *averr(int err, char buf[AV_ERROR_MAX_STRING_SIZE])
{
    return av_make_error_string(buf, AV_ERROR_MAX_STRING_SIZE, err);
}

/* Writes `n` bytes to `path` through a new file in the same folder (O_CREAT|O_EXCL|
 * O_NOFOLLOW, mode 0644) renamed into place: never through an existing file, so a hard link
 * or symlink at `path` cannot make it overwrite a file elsewhere, and nobody sees half a
 * picture. On failure the temporary file is removed and errs says why. */
static bool write_replace(const char *path, const void *data, size_t n, struct vw_errors *errs)
{
    static atomic_uint counter;
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    const char *base = path + dirlen;
    size_t cap = strlen(path) + 48;
    char *tmp = malloc(cap);
    if (!tmp) {
        vw_errors_add(errs, "%s: out of memory", path);
        return false;
    }
    int fd = -1;
    for (int attempt = 0; fd < 0 && attempt < 100; attempt++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned tag = (unsigned)ts.tv_nsec ^ ((unsigned)getpid() << 16) ^
                       (atomic_fetch_add(&counter, 1) * 2654435761u);
        snprintf(tmp, cap, "%.*s.%s.%08x.tmp", dirlen, path, base, tag);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST) {
            vw_errors_add(errs, "%s: can't create a temporary file in its folder: %s", path,
                          strerror(errno));
            free(tmp);
            return false;
        }
    }
    if (fd < 0) {
        vw_errors_add(errs, "%s: can't create a temporary file in its folder: %s", path,
                      strerror(EEXIST));
        free(tmp);
        return false;
    }
    const unsigned char *p = data;
    size_t left = n;
    while (left > 0) {
        ssize_t k = write(fd, p, left);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            vw_errors_add(errs, "%s: write error: %s", path, k < 0 ? strerror(errno) : "no space");
            goto fail;
        }
        p += k;
        left -= (size_t)k;
    }
    if (close(fd) != 0) {
        fd = -1;
        vw_errors_add(errs, "%s: write error: %s", path, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        vw_errors_add(errs, "%s: can't put the picture in place: %s", path, strerror(errno));
        goto fail;
    }
    free(tmp);
    return true;

fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(tmp);
    return false;
}

bool vw_png_write(const char *path, const uint8_t *rgba, int w, int h, struct vw_errors *errs)
{
    char eb[AV_ERROR_MAX_STRING_SIZE];
    bool ok = false;
    AVCodecContext *ctx = NULL;
    AVFrame *frame = NULL;
    AVPacket *pkt = NULL;
    int ret;

    if (w <= 0 || h <= 0 || w > PNG_MAX_DIM || h > PNG_MAX_DIM) {
        vw_errors_add(errs, "%s: can't write a %dx%d picture", path, w, h);
        return false;
    }
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
    if (!codec) {
        vw_errors_add(errs, "%s: this FFmpeg has no PNG encoder", path);
        return false;
    }
    ctx = avcodec_alloc_context3(codec);
    frame = av_frame_alloc();
    pkt = av_packet_alloc();
    if (!ctx || !frame || !pkt) {
        vw_errors_add(errs, "%s: out of memory", path);
        goto out;
    }
    ctx->width = w;
    ctx->height = h;
    ctx->pix_fmt = AV_PIX_FMT_RGBA;
    ctx->time_base = (AVRational){1, 1};
    if ((ret = avcodec_open2(ctx, codec, NULL)) < 0) {
        vw_errors_add(errs, "%s: can't start the PNG encoder: %s", path, averr(ret, eb));
        goto out;
    }
    frame->format = AV_PIX_FMT_RGBA;
    frame->width = w;
    frame->height = h;
    if ((ret = av_frame_get_buffer(frame, 0)) < 0) {
        vw_errors_add(errs, "%s: %s", path, averr(ret, eb));
        goto out;
    }
    av_image_copy_plane(frame->data[0], frame->linesize[0], rgba, w * 4, w * 4, h);
    if ((ret = avcodec_send_frame(ctx, frame)) < 0 || (ret = avcodec_send_frame(ctx, NULL)) < 0) {
        vw_errors_add(errs, "%s: PNG encoding failed: %s", path, averr(ret, eb));
        goto out;
    }
    if ((ret = avcodec_receive_packet(ctx, pkt)) < 0) {
        vw_errors_add(errs, "%s: PNG encoding failed: %s", path, averr(ret, eb));
        goto out;
    }
    ok = write_replace(path, pkt->data, (size_t)pkt->size, errs);
out:
    av_packet_free(&pkt);
    av_frame_free(&frame);
    avcodec_free_context(&ctx);
    return ok;
}

/* Reads the whole file into a packet (with the padding FFmpeg's decoders want). */
static AVPacket *read_file(const char *path, struct vw_errors *errs)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        vw_errors_add(errs, "%s: can't open: %s", path, strerror(errno));
        return NULL;
    }
    AVPacket *pkt = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size <= 0 || (unsigned long)size > PNG_MAX_FILE_BYTES || fseek(f, 0, SEEK_SET) != 0) {
        vw_errors_add(errs, "%s: %s", path, size == 0 ? "empty file" : "not a readable PNG file");
        goto out;
    }
    pkt = av_packet_alloc();
    if (!pkt || av_new_packet(pkt, (int)size) < 0) {
        vw_errors_add(errs, "%s: out of memory", path);
        av_packet_free(&pkt);
        goto out;
    }
    if (fread(pkt->data, 1, (size_t)size, f) != (size_t)size) {
        vw_errors_add(errs, "%s: read error", path);
        av_packet_free(&pkt);
    }
out:
    fclose(f);
    return pkt;
}

uint8_t *vw_png_read(const char *path, int *w, int *h, struct vw_errors *errs)
{
    char eb[AV_ERROR_MAX_STRING_SIZE];
    uint8_t *out = NULL;
    AVCodecContext *ctx = NULL;
    AVFrame *frame = NULL;
    struct SwsContext *sws = NULL;
    int ret;

    AVPacket *pkt = read_file(path, errs);
    if (!pkt)
        return NULL;
    const AVCodec *codec = avcodec_find_decoder(AV_CODEC_ID_PNG);
    if (!codec) {
        vw_errors_add(errs, "%s: this FFmpeg has no PNG decoder", path);
        goto out;
    }
    ctx = avcodec_alloc_context3(codec);
    frame = av_frame_alloc();
    if (!ctx || !frame) {
        vw_errors_add(errs, "%s: out of memory", path);
        goto out;
    }
    ctx->thread_count = 1;
    if ((ret = avcodec_open2(ctx, codec, NULL)) < 0) {
        vw_errors_add(errs, "%s: can't start the PNG decoder: %s", path, averr(ret, eb));
        goto out;
    }
    if ((ret = avcodec_send_packet(ctx, pkt)) < 0 || (ret = avcodec_send_packet(ctx, NULL)) < 0 ||
        (ret = avcodec_receive_frame(ctx, frame)) < 0) {
        vw_errors_add(errs, "%s: not a valid PNG: %s", path, averr(ret, eb));
        goto out;
    }
    int fw = frame->width, fh = frame->height;
    if (fw <= 0 || fh <= 0 || fw > PNG_MAX_DIM || fh > PNG_MAX_DIM) {
        vw_errors_add(errs, "%s: unsupported size %dx%d", path, fw, fh);
        goto out;
    }
    out = malloc((size_t)fw * fh * 4);
    if (!out) {
        vw_errors_add(errs, "%s: out of memory", path);
        goto out;
    }
    if (frame->format == AV_PIX_FMT_RGBA) {
        av_image_copy_plane(out, fw * 4, frame->data[0], frame->linesize[0], fw * 4, fh);
    } else {
        sws = sws_getContext(fw, fh, frame->format, fw, fh, AV_PIX_FMT_RGBA, SWS_POINT, NULL, NULL,
                             NULL);
        uint8_t *dst[4] = {out, NULL, NULL, NULL};
        int dst_ls[4] = {fw * 4, 0, 0, 0};
        if (!sws || sws_scale(sws, (const uint8_t *const *)frame->data, frame->linesize, 0, fh, dst,
                              dst_ls) <= 0) {
            vw_errors_add(errs, "%s: can't convert %s pixels to RGBA", path,
                          av_get_pix_fmt_name(frame->format));
            free(out);
            out = NULL;
            goto out;
        }
    }
    *w = fw;
    *h = fh;
out:
    sws_freeContext(sws);
    av_frame_free(&frame);
    avcodec_free_context(&ctx);
    av_packet_free(&pkt);
    return out;
}
