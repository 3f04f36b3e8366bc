#define _GNU_SOURCE /* dl_iterate_phdr */
#include "render/renderer.h"

#include <ctype.h>
#include <dlfcn.h>
#include <epoxy/gl.h>
#include <errno.h>
#include <fcntl.h>
#include <libavutil/avconfig.h>
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <link.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "render/colour.h"
#include "render/cpu_picture.h"
#include "render/label.h"
#include "base/log.h"

#define LABEL_MAX_IDLE_FRAMES 120
#define SHADER_MAX_BYTES (1 << 20)

/* Colours of the no-signal slate and of the overlays (straight alpha). */
static const float SLATE_BG[4] = {0x1a / 255.0f, 0x1f / 255.0f, 0x2b / 255.0f, 1.0f};
static const float SLATE_TITLE[4] = {0.88f, 0.90f, 0.94f, 1.0f};
static const float SLATE_DETAIL[4] = {0.60f, 0.65f, 0.74f, 1.0f};
static const float LABEL_BG[4] = {0.0f, 0.0f, 0.0f, 0.6f};
static const float TEXT_WHITE[4] = {1.0f, 1.0f, 1.0f, 1.0f};
static const float BADGE_RED[4] = {0.80f, 0.08f, 0.08f, 0.92f};
static const float BADGE_AMBER[4] = {0.95f, 0.62f, 0.05f, 0.92f};
static const float BLACK[4] = {0.0f, 0.0f, 0.0f, 1.0f};

/* u_orient for a picture turned 0, 90, 180, 270 degrees clockwise (column-major): the
 * stored texture coordinates of a shown point (u, v), about the centre. 90: s = v, t = 1 - u. */
static const GLfloat ORIENT[4][4] = {
    {1, 0, 0, 1},
    {0, -1, 1, 0},
    {-1, 0, 0, -1},
    {0, 1, -1, 0},
};

/* ---- Programs ------------------------------------------------------------------------ */

struct program {
    GLuint id;
    GLint u_rect, u_tc;       /* tile.vert */
    GLint u_orient;           /* tile.vert: picture rotation */
    GLint u_matrix, u_offset; /* pictures */
    GLint u_cscale;           /* planar, nv12 */
    GLint u_color;            /* solid, text */
};

struct vw_renderer {
    struct program planar, nv12, packed, solid, text, copy;
    GLuint vao;
    /* Sampler objects for the picture planes: bilinear, and nearest for a plane shown one
     * texel per pixel (same result, about half the cost of a bilinear fetch in llvmpipe). */
    GLuint linear, nearest;
    unsigned long nearest_planes; /* planes drawn with `nearest`, for the tests */
    GLint max_tex;
    struct vw_label_cache *labels;
    int label_size;
    enum vw_compose compose; /* GPU or CPU, decided on creation */
    char gl_name[96];        /* GL_RENDERER */
    int fb_w, fb_h;
    GLuint fb_tex; /* the colour texture of the bound framebuffer (0: the window's) */
    /* The panel being drawn: its virtual box and framebuffer rect (top-left origin). */
    struct vw_box virt;
    int px, py, pw, ph;
};

/* Reads a shader file. *prepended is set when the file has no #version line and one is
 * added (reported lines are then shifted back by one). */
static char *read_shader(const char *path, bool *prepended, struct vw_errors *errs)
{
    /* Opened without blocking and checked: a FIFO in the shader folder must not hang the
     * start (issue 12: every file the wall opens is a regular file first). */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat sb;
    if (fd >= 0 && (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))) {
        close(fd);
        vw_errors_add(errs, "%s: cannot open: not a regular file", path);
        return NULL;
    }
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        vw_errors_add(errs, "%s: can't open shader: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    static const char version[] = "#version 330 core\n";
    char *buf = malloc(SHADER_MAX_BYTES + sizeof version);
    if (!buf) {
        fclose(f);
        vw_errors_add(errs, "%s: out of memory", path);
        return NULL;
    }
    size_t n = fread(buf, 1, SHADER_MAX_BYTES, f);
    bool too_big = n == SHADER_MAX_BYTES && fgetc(f) != EOF;
    bool failed = ferror(f);
    fclose(f);
    if (failed || too_big) {
        vw_errors_add(errs, "%s: %s", path, too_big ? "shader larger than 1 MiB" : "read error");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    const char *p = buf;
    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    *prepended = strncmp(p, "#version", 8) != 0;
    if (*prepended) {
        memmove(buf + sizeof version - 1, buf, n + 1);
        memcpy(buf, version, sizeof version - 1);
    }
    return buf;
}

/* Turns a driver's info log into "path:line: message" entries in errs. Understands Mesa
 * ("0:12(5): error: …"), NVIDIA ("0(12) : error C0000: …") and "ERROR: 0:12: …". Returns how
 * many errors it added. */
static int report_log(const char *path, const char *log, int line_shift, struct vw_errors *errs)
{
    int added = 0;
    const char *p = log;
    while (*p) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char line[1024];
        if (len >= sizeof line)
            len = sizeof line - 1;
        memcpy(line, p, len);
        line[len] = '\0';
        p = end ? end + 1 : p + strlen(p);
        while (len > 0 && (line[len - 1] == '\r' || isspace((unsigned char)line[len - 1])))
            line[--len] = '\0';
        if (len == 0)
            continue;

        int src, ln = -1, col, off = 0;
        const char *msg = line;
        const char *prefix = "";
        if (sscanf(line, "%d:%d(%d): %n", &src, &ln, &col, &off) == 3 && off > 0) {
            msg = line + off;
        } else if (sscanf(line, "%d(%d) : %n", &src, &ln, &off) == 2 && off > 0) {
            msg = line + off;
        } else if (sscanf(line, "ERROR: %d:%d: %n", &src, &ln, &off) == 2 && off > 0) {
            msg = line + off;
            prefix = "error: ";
        } else if (sscanf(line, "WARNING: %d:%d: %n", &src, &ln, &off) == 2 && off > 0) {
            msg = line + off;
            prefix = "warning: ";
        } else {
            ln = -1;
        }
        bool is_error = strstr(line, "error") || strstr(line, "ERROR");
        if (ln >= 0) {
            ln -= line_shift;
            if (ln < 1)
                ln = 1;
            if (is_error)
                vw_errors_add(errs, "%s:%d: %s%s", path, ln, prefix, msg);
            else
                vw_warn("%s:%d: %s%s", path, ln, prefix, msg);
        } else if (is_error) {
            vw_errors_add(errs, "%s: %s", path, msg);
        } else {
            vw_warn("%s: %s", path, msg);
        }
        added += is_error;
    }
    return added;
}

static GLuint compile(const char *dir, const char *name, GLenum type, struct vw_errors *errs)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    bool prepended = false;
    char *src = read_shader(path, &prepended, errs);
    if (!src)
        return 0;
    GLuint sh = glCreateShader(type);
    const char *srcs[1] = {src};
    glShaderSource(sh, 1, srcs, NULL);
    glCompileShader(sh);
    GLint ok = GL_FALSE, len = 0;
    glGetShaderiv(sh, GL_COMPILE_STATUS, &ok);
    glGetShaderiv(sh, GL_INFO_LOG_LENGTH, &len);
    char *log = NULL;
    if (len > 1 && (log = malloc((size_t)len + 1))) {
        glGetShaderInfoLog(sh, len, NULL, log);
        log[len] = '\0';
    }
    if (!ok) {
        if (!log || report_log(path, log, prepended ? 1 : 0, errs) == 0)
            vw_errors_add(errs, "%s: compile failed: %s", path, log ? log : "(no log)");
        /* mpv's habit: show the source with line numbers when debugging. */
        int n = 1;
        for (const char *l = src + (prepended ? 18 : 0); *l; n++) {
            const char *e = strchr(l, '\n');
            int ll = e ? (int)(e - l) : (int)strlen(l);
            vw_debug("%s %4d: %.*s", name, n, ll, l);
            l = e ? e + 1 : l + ll;
        }
        glDeleteShader(sh);
        sh = 0;
    } else if (log) {
        report_log(path, log, prepended ? 1 : 0, errs); /* warnings only: logged */
    }
    free(log);
    free(src);
    return sh;
}

static bool link_program(struct program *p, const char *dir, const char *vert, const char *frag,
                         struct vw_errors *errs)
{
    memset(p, 0, sizeof *p);
    GLuint vs = compile(dir, vert, GL_VERTEX_SHADER, errs);
    GLuint fs = compile(dir, frag, GL_FRAGMENT_SHADER, errs);
    if (!vs || !fs) {
        glDeleteShader(vs);
        glDeleteShader(fs);
        return false;
    }
    GLuint id = glCreateProgram();
    glAttachShader(id, vs);
    glAttachShader(id, fs);
    glLinkProgram(id);
    glDeleteShader(vs);
    glDeleteShader(fs);
    GLint ok = GL_FALSE;
    glGetProgramiv(id, GL_LINK_STATUS, &ok);
    if (!ok) {
        char log[2048] = "";
        glGetProgramInfoLog(id, sizeof log, NULL, log);
        size_t n = strlen(log);
        while (n > 0 && isspace((unsigned char)log[n - 1]))
            log[--n] = '\0';
        vw_errors_add(errs, "%s/%s + %s: link error: %s", dir, vert, frag, log);
        glDeleteProgram(id);
        return false;
    }
    p->id = id;
    p->u_rect = glGetUniformLocation(id, "u_rect");
    p->u_tc = glGetUniformLocation(id, "u_tc");
    p->u_orient = glGetUniformLocation(id, "u_orient");
    p->u_matrix = glGetUniformLocation(id, "u_matrix");
    p->u_offset = glGetUniformLocation(id, "u_offset");
    p->u_cscale = glGetUniformLocation(id, "u_cscale");
    p->u_color = glGetUniformLocation(id, "u_color");
    glUseProgram(id);
    glUniformMatrix2fv(p->u_orient, 1, GL_FALSE, ORIENT[0]); /* upright unless a picture says */
    static const char *const samplers[] = {"u_y", "u_u", "u_v", "u_uv", "u_tex"};
    static const int units[] = {0, 1, 2, 1, 0};
    for (int i = 0; i < 5; i++) {
        GLint loc = glGetUniformLocation(id, samplers[i]);
        if (loc >= 0)
            glUniform1i(loc, units[i]);
    }
    glUseProgram(0);
    return true;
}

static const char *const COMPOSE_NAMES[] = {"auto", "gpu", "cpu"};

bool vw_compose_parse(const char *s, enum vw_compose *out)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, COMPOSE_NAMES[i]) == 0) {
            *out = (enum vw_compose)i;
            return true;
        }
    return false;
}

/* Mesa's software rasterisers: every fragment shader runs on the CPU. */
static bool is_software_gl(const char *gl_renderer)
{
    return strstr(gl_renderer, "llvmpipe") || strstr(gl_renderer, "softpipe") ||
           strstr(gl_renderer, "Software Rasterizer");
}

struct vw_renderer *vw_renderer_create(const struct vw_renderer_options *opt,
                                       struct vw_errors *errs)
{
    struct vw_renderer *r = calloc(1, sizeof *r);
    if (!r) {
        vw_errors_add(errs, "renderer: out of memory");
        return NULL;
    }
    const char *dir = opt && opt->shader_dir ? opt->shader_dir : "shaders";
    glGetIntegerv(GL_MAX_TEXTURE_SIZE, &r->max_tex);
    const char *name = (const char *)glGetString(GL_RENDERER);
    snprintf(r->gl_name, sizeof r->gl_name, "%s", name ? name : "?");
    r->compose = opt ? opt->compose : VW_COMPOSE_AUTO;
    if (r->compose == VW_COMPOSE_AUTO)
        r->compose = is_software_gl(r->gl_name) ? VW_COMPOSE_CPU : VW_COMPOSE_GPU;

    bool ok = true; /* link them all to report every shader error at once */
    ok &= link_program(&r->planar, dir, "tile.vert", "yuv_planar.frag", errs);
    ok &= link_program(&r->nv12, dir, "tile.vert", "nv12.frag", errs);
    ok &= link_program(&r->packed, dir, "tile.vert", "packed.frag", errs);
    ok &= link_program(&r->solid, dir, "tile.vert", "solid.frag", errs);
    ok &= link_program(&r->text, dir, "tile.vert", "text.frag", errs);
    ok &= link_program(&r->copy, dir, "tile.vert", "copy.frag", errs);
    if (!ok)
        goto fail;

    glGenVertexArrays(1, &r->vao);
    GLuint samplers[2];
    glGenSamplers(2, samplers);
    r->linear = samplers[0];
    r->nearest = samplers[1];
    for (int i = 0; i < 2; i++) {
        GLint filter = i == 0 ? GL_LINEAR : GL_NEAREST;
        glSamplerParameteri(samplers[i], GL_TEXTURE_MIN_FILTER, filter);
        glSamplerParameteri(samplers[i], GL_TEXTURE_MAG_FILTER, filter);
        glSamplerParameteri(samplers[i], GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
        glSamplerParameteri(samplers[i], GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    }
    if (!vw_renderer_set_labels(r, opt ? opt->font_path : NULL, opt ? opt->label_size : 0)) {
        vw_errors_add(errs, "renderer: can't start SDL_ttf for labels");
        goto fail;
    }
    return r;
fail:
    vw_renderer_destroy(r);
    return NULL;
}

void vw_renderer_destroy(struct vw_renderer *r)
{
    if (!r)
        return;
    vw_label_cache_destroy(r->labels);
    if (r->vao)
        glDeleteVertexArrays(1, &r->vao);
    GLuint samplers[2] = {r->linear, r->nearest};
    glDeleteSamplers(2, samplers);
    struct program *progs[] = {&r->planar, &r->nv12, &r->packed, &r->solid, &r->text, &r->copy};
    for (int i = 0; i < 6; i++)
        if (progs[i]->id)
            glDeleteProgram(progs[i]->id);
    free(r);
}

/* ---- Textures ------------------------------------------------------------------------ */

/* How a pixel format goes up as GL textures, worked out from its descriptor rather than a
 * list, so that every layout the shaders can read goes up as it is: planar Y'CbCr and RGB
 * (yuv420p…yuv444p16, yuva*, yuvj*, gbrp*, gbrap*), semi-planar (nv12, nv21, nv24, p010,
 * p016, p210…), gray (gray…gray16, ya8, ya16) and packed 3- or 4-channel pictures (rgb24,
 * bgra, argb, rgb0, rgb48, rgba64, vuya…) with a texture swizzle. Anything else (palette,
 * 1-bit, Bayer, bit fields such as rgb565, packed 4:2:2, float, other byte orders) is
 * converted by libswscale on the CPU first (convert_target). */
enum layout { LAYOUT_PLANAR, LAYOUT_NV12, LAYOUT_PACKED };

struct gl_format {
    enum layout layout;
    int nplanes;      /* textures: 1 (gray, packed), 2 (semi-planar), 3 (planar) */
    int chans[3];     /* channels per texture, 1 to 4 */
    bool wide;        /* 16-bit samples */
    int depth, shift; /* bits of a value, and how far up its 8 or 16 bits it sits (p010: 6) */
    int pos[3];       /* where each component (Y/R, Cb/G, Cr/B) lands in the shader's vec3 */
    GLint swizzle[4]; /* of texture 0 */
    bool rgb, gray;
    int cw, ch; /* chroma subsampling shifts */
};

static const GLint NO_SWIZZLE[4] = {GL_RED, GL_GREEN, GL_BLUE, GL_ALPHA};

/* Fills *g for a format the shaders read as it is; false for one to convert first. */
static bool gl_format_of(const AVPixFmtDescriptor *d, struct gl_format *g)
{
    memset(g, 0, sizeof *g);
    memcpy(g->swizzle, NO_SWIZZLE, sizeof g->swizzle);
    if (d->flags & (AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_PAL |
                    AV_PIX_FMT_FLAG_BAYER | AV_PIX_FMT_FLAG_FLOAT))
        return false;
    if (strncmp(d->name, "xyz", 3) == 0)
        return false; /* CIE XYZ with its own transfer: libswscale's conversion */
    g->rgb = d->flags & AV_PIX_FMT_FLAG_RGB;
    g->gray = !g->rgb && d->nb_components <= 2;
    int n = g->gray ? 1 : 3;
    if (!g->gray && d->nb_components < 3)
        return false;
    const AVComponentDescriptor *c = d->comp;
    int depth = c[0].depth, shift = c[0].shift;
    int bytes = depth > 8 ? 2 : 1;
    if (depth < 1 || depth + shift > 8 * bytes)
        return false;
    if (bytes == 2 && !(d->flags & AV_PIX_FMT_FLAG_BE) != !AV_HAVE_BIGENDIAN)
        return false; /* the other byte order */
    for (int i = 0; i < n; i++)
        if (c[i].depth != depth || c[i].shift != shift || c[i].step % bytes || c[i].offset % bytes)
            return false; /* bit fields (rgb565, x2rgb10) */
    g->wide = bytes == 2;
    g->depth = depth;
    g->shift = shift;
    g->cw = d->log2_chroma_w;
    g->ch = d->log2_chroma_h;
    g->pos[0] = 0, g->pos[1] = 1, g->pos[2] = 2;
    if (g->gray) { /* the Y plane, alone or with alpha (ya8) */
        if (c[0].plane != 0 || c[0].offset != 0 || c[0].step > 2 * bytes)
            return false;
        g->layout = LAYOUT_PLANAR;
        g->nplanes = 1;
        g->chans[0] = c[0].step / bytes;
        return true;
    }
    if (c[0].plane != c[1].plane && c[1].plane != c[2].plane && c[0].plane != c[2].plane) {
        for (int i = 0; i < 3; i++)
            if (c[i].plane > 2 || c[i].step != bytes || c[i].offset != 0)
                return false;
        g->layout = LAYOUT_PLANAR; /* yuv*p, gbrp* (planes G, B, R) */
        g->nplanes = 3;
        for (int i = 0; i < 3; i++) {
            g->chans[i] = 1;
            g->pos[i] = c[i].plane;
        }
        return true;
    }
    if (!g->rgb && c[0].plane == 0 && c[1].plane == 1 && c[2].plane == 1) {
        if (c[0].step != bytes || c[0].offset != 0 || c[1].step != 2 * bytes ||
            c[2].step != 2 * bytes || c[1].offset == c[2].offset || c[1].offset > bytes ||
            c[2].offset > bytes)
            return false;
        g->layout = LAYOUT_NV12; /* nv12, nv21 (Cr first), p010… */
        g->nplanes = 2;
        g->chans[0] = 1;
        g->chans[1] = 2;
        g->pos[1] = 1 + c[1].offset / bytes;
        g->pos[2] = 1 + c[2].offset / bytes;
        return true;
    }
    if (c[0].plane == 0 && c[1].plane == 0 && c[2].plane == 0 && g->cw == 0 && g->ch == 0) {
        int chans = c[0].step / bytes;
        if (chans < 3 || chans > 4 || c[1].step != c[0].step || c[2].step != c[0].step)
            return false;
        g->layout = LAYOUT_PACKED; /* rgb24, bgra, 0rgb, rgb48, vuya… */
        g->nplanes = 1;
        g->chans[0] = chans;
        static const GLint channel[4] = {GL_RED, GL_GREEN, GL_BLUE, GL_ALPHA};
        for (int i = 0; i < 3; i++)
            g->swizzle[i] = channel[c[i].offset / bytes];
        g->swizzle[3] = GL_ONE;
        return true;
    }
    return false;
}

/* What a frame the shaders can't read is converted to: the same kind of picture (RGB, gray,
 * Y'CbCr with its subsampling) at 8 or 16 bits, so nothing the wall would show is lost. */
static enum AVPixelFormat convert_target(const AVPixFmtDescriptor *d)
{
    int depth = 0;
    for (int i = 0; i < d->nb_components; i++)
        depth = d->comp[i].depth > depth ? d->comp[i].depth : depth;
    bool deep = depth > 8 || (d->flags & AV_PIX_FMT_FLAG_FLOAT);
    if ((d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BAYER)) ||
        strncmp(d->name, "xyz", 3) == 0)
        return deep ? AV_PIX_FMT_RGBA64 : AV_PIX_FMT_RGBA;
    if (d->nb_components <= 2)
        return deep ? AV_PIX_FMT_GRAY16 : AV_PIX_FMT_GRAY8;
    if (d->log2_chroma_w == 1 && d->log2_chroma_h == 1)
        return deep ? AV_PIX_FMT_YUV420P16 : AV_PIX_FMT_YUV420P;
    if (d->log2_chroma_w == 1 && d->log2_chroma_h == 0)
        return deep ? AV_PIX_FMT_YUV422P16 : AV_PIX_FMT_YUV422P;
    return deep ? AV_PIX_FMT_YUV444P16 : AV_PIX_FMT_YUV444P;
}

struct vw_texture {
    struct vw_renderer *r;
    GLuint planes[3];
    GLenum ifmt[3];
    GLint swizzle[3][4];
    int pw[3], ph[3];
    int nplanes;
    enum layout layout;
    bool has_picture;
    double aspect;
    float matrix[9]; /* column-major, for glUniformMatrix3fv */
    float offset[3];
    float cscale[2];  /* chroma texture coordinates per luma ones (odd sizes: below 1) */
    int rotation;     /* clockwise degrees to show it upright (vw_picture_rotation) */
    int rot_w, rot_h; /* the size of the frame it was worked out for */
    /* Formats drawn after a CPU conversion, and frames larger than GL_MAX_TEXTURE_SIZE. */
    struct SwsContext *sws;
    AVFrame *conv;
    int warned_fmt;         /* the format last warned about, or AV_PIX_FMT_NONE */
    int warned_w, warned_h; /* the size last warned about as too large */
    char problem[160];      /* why the last frame could not be shown, or "" */
    uint8_t *rows;          /* a plane whose rows GL can't take as they are, packed */
    size_t rows_size;
    /* VW_COMPOSE_CPU: the frame kept for the CPU scalers instead of the planes above. */
    struct vw_cpu_picture *cpu;
};

struct vw_texture *vw_texture_create(struct vw_renderer *r)
{
    struct vw_texture *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->r = r;
    t->aspect = 16.0 / 9.0;
    t->warned_fmt = AV_PIX_FMT_NONE;
    return t;
}

void vw_texture_destroy(struct vw_texture *t)
{
    if (!t)
        return;
    glDeleteTextures(3, t->planes);
    sws_freeContext(t->sws);
    av_frame_free(&t->conv);
    vw_cpu_picture_destroy(t->cpu);
    free(t->rows);
    free(t);
}

bool vw_texture_has_picture(const struct vw_texture *t)
{
    return t && t->has_picture;
}

double vw_texture_aspect(const struct vw_texture *t)
{
    return t ? t->aspect : 16.0 / 9.0;
}

const char *vw_texture_problem(const struct vw_texture *t)
{
    return t && t->problem[0] ? t->problem : NULL;
}

/* rgb = M · samples + off, where samples are the normalized texture values in the shader's
 * order (g->pos). Folds the storage scale (normalized sample → code value), the range and
 * the matrix; RGB is the identity at full range. */
static void gl_matrix(const struct gl_format *g, const AVFrame *f, float m[9], float off[3])
{
    double code_scale = (g->wide ? 65535.0 : 255.0) / (double)(1 << g->shift);
    double max = (double)((1 << g->depth) - 1);
    double a[3][3] = {{0}}; /* [row: R, G, B][component] on code values */
    double o[3] = {0, 0, 0};
    if (g->rgb) {
        for (int i = 0; i < 3; i++)
            a[i][i] = 1.0 / max;
    } else {
        double kr, kb;
        vw_colour_kr_kb(vw_colour_matrix(f), &kr, &kb);
        double kg = 1.0 - kr - kb;
        const double e[3][3] = {
            {1.0, 0.0, 2.0 * (1.0 - kr)},
            {1.0, -2.0 * kb * (1.0 - kb) / kg, -2.0 * kr * (1.0 - kr) / kg},
            {1.0, 2.0 * (1.0 - kb), 0.0},
        };
        bool full = vw_colour_full_range(f);
        double one = (double)(1 << (g->depth > 8 ? g->depth - 8 : 0));
        if (g->depth < 8)
            one = 1.0 / (double)(1 << (8 - g->depth));
        double yb = full ? 0.0 : 16.0 * one;
        double yr = full ? max : 219.0 * one;
        double cc = full ? (double)(1 << (g->depth - 1)) : 128.0 * one;
        double cr = full ? max : 224.0 * one;
        double d[3] = {1.0 / yr, 1.0 / cr, 1.0 / cr};
        double z[3] = {yb, cc, cc};
        int cols = g->gray ? 1 : 3;
        for (int row = 0; row < 3; row++)
            for (int col = 0; col < cols; col++) {
                a[row][col] = e[row][col] * d[col];
                o[row] -= a[row][col] * z[col];
            }
    }
    memset(m, 0, 9 * sizeof *m);
    for (int row = 0; row < 3; row++) {
        for (int col = 0; col < 3; col++)
            m[g->pos[col] * 3 + row] = (float)(a[row][col] * code_scale);
        off[row] = (float)o[row];
    }
}

static bool upload_plane(struct vw_texture *t, int i, int chans, bool wide, const GLint swz[4],
                         int w, int h, const uint8_t *data, int linesize)
{
    static const GLenum fmts[4] = {GL_RED, GL_RG, GL_RGB, GL_RGBA};
    static const GLenum ifmts8[4] = {GL_R8, GL_RG8, GL_RGB8, GL_RGBA8};
    static const GLenum ifmts16[4] = {GL_R16, GL_RG16, GL_RGB16, GL_RGBA16};
    GLenum fmt = fmts[chans - 1], ifmt = wide ? ifmts16[chans - 1] : ifmts8[chans - 1];
    GLenum type = wide ? GL_UNSIGNED_SHORT : GL_UNSIGNED_BYTE;
    int bpp = chans * (wide ? 2 : 1);
    if (!t->planes[i])
        glGenTextures(1, &t->planes[i]);
    glBindTexture(GL_TEXTURE_2D, t->planes[i]);
    if (linesize < 0 || linesize % bpp != 0) { /* flipped, or rgb24's rows: packed first */
        size_t need = (size_t)w * bpp * h;
        if (t->rows_size < need) { /* kept: no allocation per frame */
            free(t->rows);
            t->rows_size = 0;
            if (!(t->rows = malloc(need)))
                return false;
            t->rows_size = need;
        }
        for (int y = 0; y < h; y++)
            memcpy(t->rows + (size_t)y * w * bpp, data + (ptrdiff_t)y * linesize, (size_t)w * bpp);
        data = t->rows;
        linesize = w * bpp;
    }
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, linesize / bpp);
    if (t->ifmt[i] != ifmt || t->pw[i] != w || t->ph[i] != h) {
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
        glTexImage2D(GL_TEXTURE_2D, 0, (GLint)ifmt, w, h, 0, fmt, type, data);
        t->ifmt[i] = ifmt;
        t->pw[i] = w;
        t->ph[i] = h;
    } else {
        glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, w, h, fmt, type, data);
    }
    if (memcmp(t->swizzle[i], swz, sizeof t->swizzle[i]) != 0) {
        glTexParameteriv(GL_TEXTURE_2D, GL_TEXTURE_SWIZZLE_RGBA, swz);
        memcpy(t->swizzle[i], swz, sizeof t->swizzle[i]);
    }
    glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
    return true;
}

static bool upload_native(struct vw_texture *t, const AVFrame *f, const struct gl_format *g)
{
    int w = f->width, h = f->height;
    int cw = -((-w) >> g->cw), ch = -((-h) >> g->ch);
    bool ok = true;
    for (int i = 0; i < g->nplanes && ok; i++)
        ok = upload_plane(t, i, g->chans[i], g->wide, i == 0 ? g->swizzle : NO_SWIZZLE, i ? cw : w,
                          i ? ch : h, f->data[i], f->linesize[i]);
    glBindTexture(GL_TEXTURE_2D, 0);
    if (!ok)
        return false;
    t->nplanes = g->nplanes;
    t->layout = g->layout;
    /* an odd size: the last chroma sample covers one luma sample past the picture */
    t->cscale[0] = (float)((double)w / (1 << g->cw) / cw);
    t->cscale[1] = (float)((double)h / (1 << g->ch) / ch);
    gl_matrix(g, f, t->matrix, t->offset);
    return true;
}

/* Why frames can't be shown: kept for vw_texture_problem, logged when it changes. */
static void problem(struct vw_texture *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void problem(struct vw_texture *t, const char *fmt, ...)
{
    char text[sizeof t->problem];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (strcmp(text, t->problem) != 0)
        vw_warn("%s", text);
    snprintf(t->problem, sizeof t->problem, "%s", text);
}

/* A frame the shaders can't read as it is, or one larger than the GL texture limit: converted
 * (and scaled down to dw x dh) by libswscale on the CPU, keeping its matrix and range. */
static const AVFrame *convert(struct vw_texture *t, const AVFrame *f, int dw, int dh)
{
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(f->format);
    if (!desc || (desc->flags & AV_PIX_FMT_FLAG_HWACCEL) || !sws_isSupportedInput(f->format)) {
        problem(t, "frames in %s can't be shown (%s)", desc ? desc->name : "an unknown format",
                desc && (desc->flags & AV_PIX_FMT_FLAG_HWACCEL)
                    ? "hardware frames must be downloaded"
                    : "libswscale cannot read them");
        return NULL;
    }
    enum AVPixelFormat to = convert_target(desc);
    if (t->warned_fmt != f->format) {
        vw_info("frames in %s are converted to %s on the CPU", desc->name, av_get_pix_fmt_name(to));
        t->warned_fmt = f->format;
    }
    int flags = dw == f->width && dh == f->height ? SWS_POINT : SWS_BILINEAR;
    t->sws = sws_getCachedContext(
        t->sws, f->width, f->height, f->format, dw, dh, to,
        flags | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP, NULL, NULL, NULL);
    if (!t->sws) {
        problem(t, "frames in %s at %dx%d can't be shown (libswscale can't convert them)",
                desc->name, f->width, f->height);
        return NULL;
    }
    const AVPixFmtDescriptor *to_desc = av_pix_fmt_desc_get(to);
    bool yuv = !(to_desc->flags & AV_PIX_FMT_FLAG_RGB) && to_desc->nb_components >= 3;
    int cs = vw_colour_matrix(f);
    bool full = vw_colour_full_range(f);
    const int *coeffs = sws_getCoefficients(cs);
    sws_setColorspaceDetails(t->sws, coeffs, full, coeffs, yuv ? full : 1, 0, 1 << 16, 1 << 16);

    if (!t->conv || t->conv->width != dw || t->conv->height != dh || t->conv->format != to) {
        av_frame_free(&t->conv);
        t->conv = av_frame_alloc();
        if (!t->conv)
            return NULL;
        t->conv->format = to;
        t->conv->width = dw;
        t->conv->height = dh;
        if (av_frame_get_buffer(t->conv, 0) < 0) {
            av_frame_free(&t->conv);
            return NULL;
        }
    }
    if (sws_scale(t->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, t->conv->data,
                  t->conv->linesize) <= 0)
        return NULL;
    t->conv->colorspace = (enum AVColorSpace)cs;
    t->conv->color_range = full ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
    return t->conv;
}

/* Display aspect: width/height after the sample aspect ratio, turned `rotation` degrees. */
static double frame_aspect(const AVFrame *f, int rotation)
{
    AVRational sar = f->sample_aspect_ratio;
    double sa = sar.num > 0 && sar.den > 0 ? (double)sar.num / sar.den : 1.0;
    double a = (double)f->width * sa / f->height;
    return rotation % 180 ? 1.0 / a : a;
}

/* f's rotation: its display matrix's, else the stream's last while the size stays. */
static int frame_rotation(const struct vw_texture *t, const AVFrame *f)
{
    bool same = f->width == t->rot_w && f->height == t->rot_h;
    return vw_picture_rotation(f, same ? t->rotation : 0);
}

/* VW_COMPOSE_CPU: keeps the frame, its buffers when `take` (f itself) is given, else a
 * copy; draw_picture_cpu() scales it per tile. */
static bool upload_cpu(struct vw_texture *t, const AVFrame *f, AVFrame *take)
{
    if (!t->cpu && !(t->cpu = vw_cpu_picture_create()))
        return false;
    int format = f->format;
    int rotation = frame_rotation(t, f), w = f->width, h = f->height;
    double aspect = frame_aspect(f, rotation); /* before a take blanks f */
    if (!(take ? vw_cpu_picture_take_frame(t->cpu, take) : vw_cpu_picture_set_frame(t->cpu, f))) {
        const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(format);
        problem(t, "frames in %s can't be shown (%s)", desc ? desc->name : "an unknown format",
                desc && (desc->flags & AV_PIX_FMT_FLAG_HWACCEL)
                    ? "hardware frames must be downloaded"
                    : "libswscale cannot read them, or out of memory");
        return false;
    }
    vw_cpu_picture_set_rotation(t->cpu, rotation);
    t->problem[0] = '\0';
    t->aspect = aspect;
    t->rotation = rotation;
    t->rot_w = w;
    t->rot_h = h;
    t->has_picture = true;
    return true;
}

/* Both uploads: GL textures copy the planes, the CPU composition keeps the frame (see
 * upload_cpu for `take`). */
static bool upload(struct vw_texture *t, const AVFrame *frame, AVFrame *take)
{
    if (!t || !frame || frame->width <= 0 || frame->height <= 0)
        return false;
    if (t->r && t->r->compose == VW_COMPOSE_CPU)
        return upload_cpu(t, frame, take);
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(frame->format);
    struct gl_format g;
    bool native = desc && gl_format_of(desc, &g);
    int max = t->r ? t->r->max_tex : 8192;
    int w = frame->width, h = frame->height;
    const AVFrame *f = frame;
    if (w > max || h > max) { /* scaled down to fit, keeping its shape */
        double s = fmin((double)max / w, (double)max / h);
        int dw = (int)fmax(1.0, floor(w * s)), dh = (int)fmax(1.0, floor(h * s));
        if (t->warned_w != w || t->warned_h != h)
            vw_warn("frames of %dx%d are larger than this GL's texture limit (%d): scaled down "
                    "to %dx%d on the CPU",
                    w, h, max, dw, dh);
        t->warned_w = w;
        t->warned_h = h;
        f = convert(t, frame, dw, dh);
        native = false;
    } else if (!native) {
        f = convert(t, frame, w, h);
    }
    if (!f)
        return false;
    if (!native && !gl_format_of(av_pix_fmt_desc_get(f->format), &g))
        return false; /* convert_target gives only formats gl_format_of takes */
    if (!upload_native(t, f, &g))
        return false;
    t->problem[0] = '\0';
    t->rotation = frame_rotation(t, frame);
    t->rot_w = w;
    t->rot_h = h;
    t->aspect = frame_aspect(frame, t->rotation);
    t->has_picture = true;
    return true;
}

bool vw_texture_upload(struct vw_texture *t, const AVFrame *frame)
{
    return upload(t, frame, NULL);
}

bool vw_texture_upload_take(struct vw_texture *t, AVFrame *frame)
{
    return upload(t, frame, frame);
}

/* ---- Drawing ------------------------------------------------------------------------- */

void vw_renderer_begin_over(struct vw_renderer *r, int fb_w, int fb_h)
{
    r->fb_w = fb_w;
    r->fb_h = fb_h;
    r->fb_tex = 0;
    GLint fbo = 0, type = GL_NONE, name = 0;
    glGetIntegerv(GL_DRAW_FRAMEBUFFER_BINDING, &fbo);
    if (fbo) {
        glGetFramebufferAttachmentParameteriv(GL_DRAW_FRAMEBUFFER, GL_COLOR_ATTACHMENT0,
                                              GL_FRAMEBUFFER_ATTACHMENT_OBJECT_TYPE, &type);
        if (type == GL_TEXTURE)
            glGetFramebufferAttachmentParameteriv(GL_DRAW_FRAMEBUFFER, GL_COLOR_ATTACHMENT0,
                                                  GL_FRAMEBUFFER_ATTACHMENT_OBJECT_NAME, &name);
        r->fb_tex = (GLuint)name;
    }
    glBindVertexArray(r->vao);
    glDisable(GL_DEPTH_TEST);
    glDisable(GL_CULL_FACE);
    glDisable(GL_SCISSOR_TEST);
    glViewport(0, 0, fb_w, fb_h);
    glBlendFuncSeparate(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA, GL_ONE, GL_ONE_MINUS_SRC_ALPHA);
}

void vw_renderer_begin(struct vw_renderer *r, int fb_w, int fb_h)
{
    vw_renderer_begin_over(r, fb_w, fb_h);
    glClearColor(0.0f, 0.0f, 0.0f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
}

void vw_renderer_end(struct vw_renderer *r)
{
    glDisable(GL_SCISSOR_TEST);
    glDisable(GL_BLEND);
    glBindVertexArray(0);
    glUseProgram(0);
    vw_label_cache_end_frame(r->labels);
}

bool vw_renderer_set_labels(struct vw_renderer *r, const char *font_path, int label_size)
{
    struct vw_label_cache *c = vw_label_cache_create(font_path, LABEL_MAX_IDLE_FRAMES);
    if (!c)
        return false;
    vw_label_cache_destroy(r->labels);
    r->labels = c;
    r->label_size = label_size > 0 ? label_size : 24;
    return true;
}

unsigned long vw_renderer_nearest_planes(const struct vw_renderer *r)
{
    return r->nearest_planes;
}

enum vw_compose vw_renderer_compose(const struct vw_renderer *r)
{
    return r->compose;
}

const char *vw_compose_name(enum vw_compose c)
{
    return (unsigned)c < 3 ? COMPOSE_NAMES[c] : "?";
}

const char *vw_renderer_gl_name(const struct vw_renderer *r)
{
    return r->gl_name;
}

static double scale_x(const struct vw_renderer *r)
{
    return r->pw / (r->virt.x1 - r->virt.x0);
}

static double scale_y(const struct vw_renderer *r)
{
    return r->ph / (r->virt.y1 - r->virt.y0);
}

/* Draws box `q` (virtual pixels) with texture coordinates `tc` using program p (in use). */
static void quad(const struct vw_renderer *r, const struct program *p, struct vw_box q,
                 struct vw_box tc)
{
    double vw = r->virt.x1 - r->virt.x0, vh = r->virt.y1 - r->virt.y0;
    float x0 = (float)((q.x0 - r->virt.x0) / vw * 2.0 - 1.0);
    float x1 = (float)((q.x1 - r->virt.x0) / vw * 2.0 - 1.0);
    float y0 = (float)(1.0 - (q.y0 - r->virt.y0) / vh * 2.0);
    float y1 = (float)(1.0 - (q.y1 - r->virt.y0) / vh * 2.0);
    glUniform4f(p->u_rect, x0, y0, x1, y1);
    glUniform4f(p->u_tc, (float)tc.x0, (float)tc.y0, (float)tc.x1, (float)tc.y1);
    glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
}

static const struct vw_box UNIT = {0.0, 0.0, 1.0, 1.0};

static void fill_box(struct vw_renderer *r, struct vw_box b, const float c[4])
{
    if (c[3] < 1.0f)
        glEnable(GL_BLEND);
    else
        glDisable(GL_BLEND);
    glUseProgram(r->solid.id);
    glUniform4fv(r->solid.u_color, 1, c);
    quad(r, &r->solid, b, UNIT);
}

/* A label texture for text whose line is `h` virtual pixels high; sets its size in
 * virtual pixels. */
static const struct vw_label *get_label(struct vw_renderer *r, const char *text, double h,
                                        double *w_out, double *h_out)
{
    int px = (int)lround(h * scale_y(r));
    const struct vw_label *l = vw_label_get(r->labels, text, px);
    if (!l)
        return NULL;
    *w_out = l->w / scale_x(r);
    *h_out = l->h / scale_y(r);
    return l;
}

/* Draws a label texture in box b, its top-left snapped to a framebuffer pixel so that text
 * drawn at its own size stays sharp. */
static void draw_text(struct vw_renderer *r, const struct vw_label *l, struct vw_box b,
                      const float c[4])
{
    double sx = scale_x(r), sy = scale_y(r);
    double fx = round((b.x0 - r->virt.x0) * sx), fy = round((b.y0 - r->virt.y0) * sy);
    double w = b.x1 - b.x0, h = b.y1 - b.y0;
    b.x0 = r->virt.x0 + fx / sx;
    b.y0 = r->virt.y0 + fy / sy;
    b.x1 = b.x0 + w;
    b.y1 = b.y0 + h;
    glEnable(GL_BLEND);
    glUseProgram(r->text.id);
    glUniform4fv(r->text.u_color, 1, c);
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, l->tex);
    quad(r, &r->text, b, UNIT);
}

/* Text of line height `h` centred on (cx, y0…) and shrunk to fit `max_w`. */
static double draw_centred(struct vw_renderer *r, const char *text, double cx, double y0, double h,
                           double max_w, const float c[4])
{
    double w, th;
    const struct vw_label *l = get_label(r, text, h, &w, &th);
    if (!l)
        return 0.0;
    if (w > max_w && w > 0.0) {
        th *= max_w / w;
        w = max_w;
    }
    struct vw_box b = {cx - w / 2.0, y0, cx + w / 2.0, y0 + th};
    draw_text(r, l, b, c);
    return th;
}

static void draw_slate(struct vw_renderer *r, const struct vw_draw_tile *t)
{
    struct vw_box b = t->box;
    fill_box(r, b, SLATE_BG);
    double tw = b.x1 - b.x0, th = b.y1 - b.y0;
    double title_h = fmin(th / 7.0, tw / 10.0);
    double detail_h = title_h * 0.45;
    if (detail_h < r->label_size * 0.6 && detail_h < th / 8.0)
        detail_h = fmin(r->label_size * 0.6, th / 8.0);
    double total = title_h + (t->slate_detail ? detail_h * 1.6 : 0.0);
    double y = b.y0 + (th - total) / 2.0;
    double cx = (b.x0 + b.x1) / 2.0;
    if (t->slate_title && *t->slate_title)
        draw_centred(r, t->slate_title, cx, y, title_h, tw * 0.92, SLATE_TITLE);
    if (t->slate_detail && *t->slate_detail)
        draw_centred(r, t->slate_detail, cx, y + title_h + detail_h * 0.6, detail_h, tw * 0.92,
                     SLATE_DETAIL);
}

static bool to_scissor(const struct vw_renderer *r, struct vw_box b, int s[4]);

/* VW_COMPOSE_CPU: the picture scaled on the CPU (src/cpu_picture.c) to the quad's size in
 * whole framebuffer pixels, and written into the framebuffer's texture, clipped to the tile
 * and the panel.
 * GL keeps the order: what was drawn before is under it, labels drawn after are over it. */
static void draw_picture_cpu(struct vw_renderer *r, const struct vw_draw_tile *t,
                             const struct vw_placement *pl)
{
    /* the quad in framebuffer pixels, origin bottom-left as GL's */
    long x0 = lround(r->px + (pl->quad.x0 - r->virt.x0) * scale_x(r));
    long x1 = lround(r->px + (pl->quad.x1 - r->virt.x0) * scale_x(r));
    long y0 = r->fb_h - lround(r->py + (pl->quad.y1 - r->virt.y0) * scale_y(r));
    long y1 = r->fb_h - lround(r->py + (pl->quad.y0 - r->virt.y0) * scale_y(r));
    int clip[4]; /* the tile on this panel: x, y (bottom-left), w, h */
    if (!r->fb_tex || x1 <= x0 || y1 <= y0 || !to_scissor(r, t->box, clip))
        return; /* no fb_tex: not drawing into a vw_target (vwall always does) */
    long cx0 = x0 > clip[0] ? x0 : clip[0], cy0 = y0 > clip[1] ? y0 : clip[1];
    long cx1 = x1 < clip[0] + clip[2] ? x1 : clip[0] + clip[2];
    long cy1 = y1 < clip[1] + clip[3] ? y1 : clip[1] + clip[3];
    if (cx1 <= cx0 || cy1 <= cy0)
        return;
    struct vw_cpu_crop crop = {pl->tex.x0, pl->tex.y0, pl->tex.x1, pl->tex.y1};
    int stride;
    const uint8_t *rgba =
        vw_cpu_picture_scaled(t->tex->cpu, crop, (int)(x1 - x0), (int)(y1 - y0), &stride);
    if (!rgba)
        return;
    glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, stride / 4);
    glPixelStorei(GL_UNPACK_SKIP_PIXELS, (GLint)(cx0 - x0));
    glPixelStorei(GL_UNPACK_SKIP_ROWS, (GLint)(cy0 - y0));
    glBindTexture(GL_TEXTURE_2D, r->fb_tex);
    glTexSubImage2D(GL_TEXTURE_2D, 0, (GLint)cx0, (GLint)cy0, (GLsizei)(cx1 - cx0),
                    (GLsizei)(cy1 - cy0), GL_RGBA, GL_UNSIGNED_BYTE, rgba);
    glBindTexture(GL_TEXTURE_2D, 0);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
    glPixelStorei(GL_UNPACK_SKIP_PIXELS, 0);
    glPixelStorei(GL_UNPACK_SKIP_ROWS, 0);
}

static void draw_picture(struct vw_renderer *r, const struct vw_draw_tile *t)
{
    struct vw_texture *tex = t->tex;
    struct vw_placement pl = vw_geom_place(t->box, vw_texture_aspect(tex), t->fit);
    if (pl.quad.x0 > t->box.x0 || pl.quad.y0 > t->box.y0 || pl.quad.x1 < t->box.x1 ||
        pl.quad.y1 < t->box.y1)
        fill_box(r, t->box, BLACK); /* letterbox bars */
    if (tex->cpu) {
        draw_picture_cpu(r, t, &pl);
        return;
    }
    const struct program *p = tex->layout == LAYOUT_NV12     ? &r->nv12
                              : tex->layout == LAYOUT_PACKED ? &r->packed
                                                             : &r->planar;
    glDisable(GL_BLEND);
    glUseProgram(p->id);
    glUniformMatrix3fv(p->u_matrix, 1, GL_FALSE, tex->matrix);
    glUniform3fv(p->u_offset, 1, tex->offset);
    if (p->u_cscale >= 0)
        glUniform2fv(p->u_cscale, 1, tex->cscale);
    glUniformMatrix2fv(p->u_orient, 1, GL_FALSE, ORIENT[tex->rotation / 90 % 4]);
    /* The quad in framebuffer pixels, to pick each plane's sampler. */
    double fx0 = r->px + (pl.quad.x0 - r->virt.x0) * scale_x(r);
    double fx1 = r->px + (pl.quad.x1 - r->virt.x0) * scale_x(r);
    double fy0 = r->py + (pl.quad.y0 - r->virt.y0) * scale_y(r);
    double fy1 = r->py + (pl.quad.y1 - r->virt.y0) * scale_y(r);
    int units = tex->layout == LAYOUT_PLANAR ? 3 : tex->nplanes;
    for (int i = 0; i < units; i++) {
        int plane = i < tex->nplanes ? i : 0; /* gray: the Y plane in every unit */
        bool exact = vw_geom_one_to_one(fx0, fx1, pl.tex.x0, pl.tex.x1, tex->pw[plane]) &&
                     vw_geom_one_to_one(fy0, fy1, pl.tex.y0, pl.tex.y1, tex->ph[plane]) &&
                     (plane == 0 || (tex->cscale[0] == 1.0f && tex->cscale[1] == 1.0f)) &&
                     tex->rotation == 0;
        glActiveTexture(GL_TEXTURE0 + i);
        glBindTexture(GL_TEXTURE_2D, tex->planes[plane]);
        glBindSampler((GLuint)i, exact ? r->nearest : r->linear);
        r->nearest_planes += exact;
    }
    glActiveTexture(GL_TEXTURE0);
    quad(r, p, pl.quad, pl.tex);
    glUniformMatrix2fv(p->u_orient, 1, GL_FALSE, ORIENT[0]);
    for (int i = 0; i < units; i++)
        glBindSampler((GLuint)i, 0); /* labels and blits use the textures' own filters */
}

/* Text on a box of height `h` at the tile's bottom-left (left) or top-right (badge). */
static void draw_tag(struct vw_renderer *r, const struct vw_box *tile, const char *text,
                     bool top_right, const float bg[4])
{
    double h = fmin((double)r->label_size, tile->y1 - tile->y0);
    double w, th;
    const struct vw_label *l = get_label(r, text, h * 0.8, &w, &th);
    double pad = h * 0.3;
    double bw = (l ? w : 0.0) + 2.0 * pad;
    struct vw_box b;
    if (top_right)
        b = (struct vw_box){tile->x1 - bw, tile->y0, tile->x1, tile->y0 + h};
    else
        b = (struct vw_box){tile->x0, tile->y1 - h, tile->x0 + bw, tile->y1};
    fill_box(r, b, bg);
    if (!l)
        return;
    /* the label pointer is still valid: nothing was added to the cache since */
    double ty = b.y0 + (h - th) / 2.0;
    draw_text(r, l, (struct vw_box){b.x0 + pad, ty, b.x0 + pad + w, ty + th}, TEXT_WHITE);
}

static bool to_scissor(const struct vw_renderer *r, struct vw_box b, int s[4])
{
    /* b in virtual pixels → framebuffer pixels (top-left), clipped to the panel. */
    double sx = scale_x(r), sy = scale_y(r);
    long x0 = lround(r->px + (b.x0 - r->virt.x0) * sx);
    long x1 = lround(r->px + (b.x1 - r->virt.x0) * sx);
    long y0 = lround(r->py + (b.y0 - r->virt.y0) * sy);
    long y1 = lround(r->py + (b.y1 - r->virt.y0) * sy);
    if (x0 < r->px)
        x0 = r->px;
    if (y0 < r->py)
        y0 = r->py;
    if (x1 > r->px + r->pw)
        x1 = r->px + r->pw;
    if (y1 > r->py + r->ph)
        y1 = r->py + r->ph;
    if (x1 <= x0 || y1 <= y0)
        return false;
    s[0] = (int)x0;
    s[1] = r->fb_h - (int)y1;
    s[2] = (int)(x1 - x0);
    s[3] = (int)(y1 - y0);
    return true;
}

void vw_renderer_draw_panel(struct vw_renderer *r, const struct vw_panel_view *pv,
                            const struct vw_draw_tile *tiles, int n)
{
    if (pv->w <= 0 || pv->h <= 0 || pv->virt.x1 <= pv->virt.x0 || pv->virt.y1 <= pv->virt.y0)
        return;
    r->virt = pv->virt;
    r->px = pv->x;
    r->py = pv->y;
    r->pw = pv->w;
    r->ph = pv->h;
    glViewport(pv->x, r->fb_h - pv->y - pv->h, pv->w, pv->h);
    glEnable(GL_SCISSOR_TEST);
    for (int i = 0; i < n; i++) {
        const struct vw_draw_tile *t = &tiles[i];
        if (!vw_box_intersects(t->box, pv->virt))
            continue;
        int s[4];
        if (!to_scissor(r, t->box, s))
            continue;
        glScissor(s[0], s[1], s[2], s[3]);
        if (vw_texture_has_picture(t->tex))
            draw_picture(r, t);
        else
            draw_slate(r, t);
        if (t->label && *t->label)
            draw_tag(r, &t->box, t->label, false, LABEL_BG);
        if (t->badge != VW_BADGE_NONE) {
            const char *text = t->badge_text && *t->badge_text ? t->badge_text
                               : t->badge == VW_BADGE_STALLED  ? "STALLED"
                                                               : "RECONNECTING";
            draw_tag(r, &t->box, text, true,
                     t->badge == VW_BADGE_STALLED ? BADGE_RED : BADGE_AMBER);
        }
    }
    glDisable(GL_SCISSOR_TEST);
}

/* ---- Offscreen targets --------------------------------------------------------------- */

struct vw_target {
    GLuint fbo, tex;
    int w, h;
};

struct vw_target *vw_target_create(struct vw_renderer *r, int w, int h, struct vw_errors *errs)
{
    GLint max_tex = 0, max_rb = 0, max_vp[2] = {0, 0};
    glGetIntegerv(GL_MAX_TEXTURE_SIZE, &max_tex);
    glGetIntegerv(GL_MAX_RENDERBUFFER_SIZE, &max_rb);
    glGetIntegerv(GL_MAX_VIEWPORT_DIMS, max_vp);
    int lim_w = max_tex, lim_h = max_tex;
    if (max_rb > 0 && max_rb < lim_w)
        lim_w = lim_h = max_rb;
    if (max_vp[0] > 0 && max_vp[0] < lim_w)
        lim_w = max_vp[0];
    if (max_vp[1] > 0 && max_vp[1] < lim_h)
        lim_h = max_vp[1];
    if (w <= 0 || h <= 0 || w > lim_w || h > lim_h) {
        vw_errors_add(errs,
                      "offscreen target %dx%d: this GL allows 1x1 to %dx%d "
                      "(GL_MAX_TEXTURE_SIZE %d, GL_MAX_RENDERBUFFER_SIZE %d)",
                      w, h, lim_w, lim_h, max_tex, max_rb);
        return NULL;
    }
    struct vw_target *t = calloc(1, sizeof *t);
    if (!t) {
        vw_errors_add(errs, "offscreen target: out of memory");
        return NULL;
    }
    t->w = w;
    t->h = h;
    GLint prev_fbo = 0;
    glGetIntegerv(GL_FRAMEBUFFER_BINDING, &prev_fbo);
    while (glGetError() != GL_NO_ERROR) {
    }
    glGenTextures(1, &t->tex);
    glBindTexture(GL_TEXTURE_2D, t->tex);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, w, h, 0, GL_RGBA, GL_UNSIGNED_BYTE, NULL);
    glBindTexture(GL_TEXTURE_2D, 0);
    GLenum gl_err = glGetError();
    glGenFramebuffers(1, &t->fbo);
    glBindFramebuffer(GL_FRAMEBUFFER, t->fbo);
    glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, t->tex, 0);
    GLenum status = glCheckFramebufferStatus(GL_FRAMEBUFFER);
    glBindFramebuffer(GL_FRAMEBUFFER, (GLuint)prev_fbo);
    if (gl_err != GL_NO_ERROR || status != GL_FRAMEBUFFER_COMPLETE) {
        vw_errors_add(errs,
                      "offscreen target %dx%d: can't create (GL error 0x%x, framebuffer "
                      "status 0x%x; out of GPU memory?)",
                      w, h, gl_err, status);
        vw_target_destroy(t);
        return NULL;
    }
    return t;
}

void vw_target_destroy(struct vw_target *t)
{
    if (!t)
        return;
    if (t->fbo)
        glDeleteFramebuffers(1, &t->fbo);
    if (t->tex)
        glDeleteTextures(1, &t->tex);
    free(t);
}

void vw_target_bind(struct vw_target *t)
{
    glBindFramebuffer(GL_FRAMEBUFFER, t ? t->fbo : 0);
}

void vw_target_blit_to_window(struct vw_renderer *r, struct vw_target *t)
{
    /* A textured quad rather than glBlitFramebuffer: in llvmpipe the blit from an RGBA
     * texture to the window's buffer cost ~10 ms a frame at 1920x1080, this copy a few. */
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    glViewport(0, 0, t->w, t->h);
    glDisable(GL_SCISSOR_TEST);
    glDisable(GL_BLEND);
    glBindVertexArray(r->vao);
    glUseProgram(r->copy.id);
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, t->tex);
    /* the target's row 0 is its bottom row */
    glUniform4f(r->copy.u_rect, -1.0f, 1.0f, 1.0f, -1.0f);
    glUniform4f(r->copy.u_tc, 0.0f, 1.0f, 1.0f, 0.0f);
    glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
    glBindVertexArray(0);
    glUseProgram(0);
}

int vw_target_width(const struct vw_target *t)
{
    return t->w;
}
int vw_target_height(const struct vw_target *t)
{
    return t->h;
}

void vw_target_read_bottom_up(struct vw_target *t, uint8_t *rgba)
{
    GLint prev = 0;
    glGetIntegerv(GL_READ_FRAMEBUFFER_BINDING, &prev);
    glBindFramebuffer(GL_READ_FRAMEBUFFER, t->fbo);
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    glPixelStorei(GL_PACK_ROW_LENGTH, 0);
    glReadPixels(0, 0, t->w, t->h, GL_RGBA, GL_UNSIGNED_BYTE, rgba);
    glBindFramebuffer(GL_READ_FRAMEBUFFER, (GLuint)prev);
}

void vw_target_read(struct vw_target *t, uint8_t *rgba)
{
    vw_target_read_bottom_up(t, rgba);
    size_t row = (size_t)t->w * 4;
    uint8_t *tmp = malloc(row);
    if (tmp) {
        for (int y = 0; y < t->h / 2; y++) {
            uint8_t *a = rgba + (size_t)y * row, *b = rgba + (size_t)(t->h - 1 - y) * row;
            memcpy(tmp, a, row);
            memcpy(a, b, row);
            memcpy(b, tmp, row);
        }
        free(tmp);
    } else { /* no memory for a row: swap byte by byte */
        for (int y = 0; y < t->h / 2; y++) {
            uint8_t *a = rgba + (size_t)y * row, *b = rgba + (size_t)(t->h - 1 - y) * row;
            for (size_t i = 0; i < row; i++) {
                uint8_t c = a[i];
                a[i] = b[i];
                b[i] = c;
            }
        }
    }
}

/* ---- Sanitizer builds ----------------------------------------------------------------- */

#ifdef __SANITIZE_ADDRESS__
static int pin_gl_library(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    static const char *const names[] = {"_dri.so",  "libEGL", "libLLVM",
                                        "libglapi", "libgbm", "libGLX"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (info->dlpi_name && strstr(info->dlpi_name, names[i])) {
            dlopen(info->dlpi_name, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
            break;
        }
    return 0;
}
#endif

void vw_gl_keep_libraries_loaded(void)
{
#ifdef __SANITIZE_ADDRESS__
    dl_iterate_phdr(pin_gl_library, NULL);
#endif
}
