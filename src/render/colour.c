#include "render/colour.h"

#include <libavutil/display.h>
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>
#include <math.h>
#include <string.h>

int vw_colour_matrix(const AVFrame *f)
{
    switch (f->colorspace) {
    case AVCOL_SPC_BT709:
    case AVCOL_SPC_SMPTE170M:
    case AVCOL_SPC_BT470BG:
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
    case AVCOL_SPC_FCC:
    case AVCOL_SPC_SMPTE240M: return f->colorspace;
    default: return f->height >= 720 ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M;
    }
}

void vw_colour_kr_kb(int matrix, double *kr, double *kb)
{
    switch (matrix) {
    case AVCOL_SPC_BT709: *kr = 0.2126, *kb = 0.0722; break;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL: *kr = 0.2627, *kb = 0.0593; break;
    case AVCOL_SPC_FCC: *kr = 0.30, *kb = 0.11; break;
    case AVCOL_SPC_SMPTE240M: *kr = 0.212, *kb = 0.087; break;
    default: *kr = 0.299, *kb = 0.114; break; /* BT.601 */
    }
}

bool vw_colour_full_range(const AVFrame *f)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
    if (!d)
        return f->color_range == AVCOL_RANGE_JPEG;
    if (d->flags &
        (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BAYER | AV_PIX_FMT_FLAG_FLOAT))
        return true;
    if (strncmp(d->name, "yuvj", 4) == 0)
        return true;           /* the JPEG twins */
    if (d->nb_components <= 2) /* gray, gray + alpha, monow/monob: full unless tagged */
        return f->color_range != AVCOL_RANGE_MPEG;
    return f->color_range == AVCOL_RANGE_JPEG;
}

int vw_picture_rotation(const AVFrame *f, int keep)
{
    const AVFrameSideData *sd = av_frame_get_side_data(f, AV_FRAME_DATA_DISPLAYMATRIX);
    if (!sd || sd->size < 9 * sizeof(int32_t))
        return keep;
    double ccw = av_display_rotation_get((const int32_t *)sd->data); /* -180..180, or NaN */
    if (!isfinite(ccw))
        return 0;
    long quarter = lround(-ccw / 90.0); /* as ffmpeg's autorotate: clockwise quarter turns */
    return (int)(((quarter % 4) + 4) % 4) * 90;
}
