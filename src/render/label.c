#include "render/label.h"

#include <SDL.h>
#include <SDL_ttf.h>
#include <epoxy/gl.h>
#include <errno.h>
#include <fcntl.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

#define MAX_ENTRIES 512    /* beyond this the least recently used entry goes first */
#define MAX_TEXT_BYTES 512 /* longer text is cut at a character boundary */
#define MIN_PX 4
#define MAX_PX 1024
#define PROBE_PT 64

struct entry {
    char *text;
    int px;
    struct vw_label label;
    uint64_t last_used;
};

struct vw_label_cache {
    TTF_Font *font;   /* NULL: no font, labels are skipped */
    double pt_per_px; /* point size giving a line height of 1 px */
    int cur_pt;
    struct entry *entries;
    int count, cap;
    uint64_t frame;
    int max_idle;
    bool warned;
};

/* Finds a sans-serif font covering Chinese. Returns a heap path and its face index. */
static char *find_font(int *index)
{
    char *path = NULL;
    if (!FcInit())
        return NULL;
    FcPattern *pat = FcNameParse((const FcChar8 *)"sans-serif:lang=zh-cn");
    if (!pat) {
        FcFini();
        return NULL;
    }
    FcConfigSubstitute(NULL, pat, FcMatchPattern);
    FcDefaultSubstitute(pat);
    FcResult res;
    FcPattern *match = FcFontMatch(NULL, pat, &res);
    if (match) {
        FcChar8 *file = NULL;
        if (FcPatternGetString(match, FC_FILE, 0, &file) == FcResultMatch && file)
            path = strdup((const char *)file);
        if (FcPatternGetInteger(match, FC_INDEX, 0, index) != FcResultMatch)
            *index = 0;
        FcPatternDestroy(match);
    }
    FcPatternDestroy(pat);
    /* Nothing else in vwall uses fontconfig: release its configuration (and its memory). */
    FcFini();
    return path;
}

/* Opens the font file without blocking (a FIFO would wait for a writer on the main thread)
 * and hands the already-open file to SDL_ttf, so what is checked is what is read. NULL with
 * a warning when there is no usable font. */
static TTF_Font *open_font(const char *path, int index)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        vw_warn("%s: cannot open: %s; labels are not drawn", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        vw_warn("%s: cannot open: not a regular file; labels are not drawn", path);
        close(fd);
        return NULL;
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        vw_warn("%s: cannot open: %s; labels are not drawn", path, strerror(errno));
        close(fd);
        return NULL;
    }
    SDL_RWops *rw = SDL_RWFromFP(f, SDL_TRUE); /* closes f when the font is closed */
    if (!rw) {
        vw_warn("%s: cannot open: %s; labels are not drawn", path, SDL_GetError());
        fclose(f);
        return NULL;
    }
    TTF_Font *font = TTF_OpenFontIndexRW(rw, 1, PROBE_PT, index); /* frees rw, also on failure */
    if (!font)
        vw_warn("%s: can't open font: %s; labels are not drawn", path, TTF_GetError());
    return font;
}

struct vw_label_cache *vw_label_cache_create(const char *font_path, int max_idle)
{
    if (TTF_Init() != 0) {
        vw_err("SDL_ttf: %s", TTF_GetError());
        return NULL;
    }
    struct vw_label_cache *c = calloc(1, sizeof *c);
    if (!c) {
        TTF_Quit();
        return NULL;
    }
    c->max_idle = max_idle > 0 ? max_idle : 1;

    int index = 0;
    char *found = NULL;
    const char *path = font_path;
    if (!path) {
        found = find_font(&index);
        path = found;
    }
    if (path) {
        c->font = open_font(path, index);
    } else {
        vw_warn("fontconfig found no font for labels; labels are not drawn");
    }
    if (c->font) {
        int h = TTF_FontHeight(c->font);
        c->pt_per_px = h > 0 ? (double)PROBE_PT / h : 1.0;
        c->cur_pt = PROBE_PT;
        vw_debug("labels: font %s (face %d)", path, index);
    } else {
        c->warned = true; /* the warning above is the one */
    }
    free(found);
    return c;
}

static void free_entry(struct entry *e)
{
    GLuint tex = e->label.tex;
    if (tex)
        glDeleteTextures(1, &tex);
    free(e->text);
}

void vw_label_cache_destroy(struct vw_label_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->count; i++)
        free_entry(&c->entries[i]);
    free(c->entries);
    if (c->font)
        TTF_CloseFont(c->font);
    free(c);
    TTF_Quit();
}

bool vw_label_cache_has_font(const struct vw_label_cache *c)
{
    return c && c->font;
}

int vw_label_cache_count(const struct vw_label_cache *c)
{
    return c ? c->count : 0;
}

/* Length of `s` cut to at most `max` bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static bool render(struct vw_label_cache *c, const char *text, int px, struct vw_label *out)
{
    int pt = (int)lround(px * c->pt_per_px);
    if (pt < 1)
        pt = 1;
    if (pt != c->cur_pt) {
        if (TTF_SetFontSize(c->font, pt) != 0) {
            vw_warn("SDL_ttf: can't set font size %d: %s", pt, TTF_GetError());
            return false;
        }
        c->cur_pt = pt;
    }
    SDL_Color white = {255, 255, 255, 255};
    SDL_Surface *s = TTF_RenderUTF8_Blended(c->font, text, white);
    if (!s) {
        vw_warn("SDL_ttf: can't render label: %s", TTF_GetError());
        return false;
    }
    SDL_Surface *conv = NULL;
    if (s->format->format != SDL_PIXELFORMAT_ARGB8888) {
        conv = SDL_ConvertSurfaceFormat(s, SDL_PIXELFORMAT_ARGB8888, 0);
        SDL_FreeSurface(s);
        if (!conv)
            return false;
        s = conv;
    }
    GLint max_size = 0;
    glGetIntegerv(GL_MAX_TEXTURE_SIZE, &max_size);
    int w = s->w < max_size ? s->w : max_size;
    int h = s->h < max_size ? s->h : max_size;

    GLuint tex = 0;
    glGenTextures(1, &tex);
    glBindTexture(GL_TEXTURE_2D, tex);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, s->pitch / 4);
    /* ARGB8888 is B, G, R, A in memory on little-endian machines. */
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, w, h, 0, GL_BGRA, GL_UNSIGNED_INT_8_8_8_8_REV,
                 s->pixels);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
    SDL_FreeSurface(s);
    out->tex = tex;
    out->w = w;
    out->h = h;
    return true;
}

const struct vw_label *vw_label_get(struct vw_label_cache *c, const char *text, int px)
{
    if (!c || !text || !*text)
        return NULL;
    if (!c->font) {
        if (!c->warned) {
            vw_warn("no font for labels; labels are not drawn");
            c->warned = true;
        }
        return NULL;
    }
    px = px < MIN_PX ? MIN_PX : px > MAX_PX ? MAX_PX : px;
    size_t len = utf8_cut(text, MAX_TEXT_BYTES);
    for (int i = 0; i < c->count; i++) {
        struct entry *e = &c->entries[i];
        if (e->px == px && strncmp(e->text, text, len) == 0 && e->text[len] == '\0') {
            e->last_used = c->frame;
            return e->label.tex ? &e->label : NULL; /* tex 0: failed before, not retried */
        }
    }
    if (c->count == MAX_ENTRIES) { /* evict the least recently used */
        int lru = 0;
        for (int i = 1; i < c->count; i++)
            if (c->entries[i].last_used < c->entries[lru].last_used)
                lru = i;
        free_entry(&c->entries[lru]);
        c->entries[lru] = c->entries[--c->count];
    }
    if (c->count == c->cap) {
        int cap = c->cap ? c->cap * 2 : 16;
        struct entry *n = realloc(c->entries, (size_t)cap * sizeof *n);
        if (!n)
            return NULL;
        c->entries = n;
        c->cap = cap;
    }
    char *copy = strndup(text, len);
    if (!copy)
        return NULL;
    struct entry *e = &c->entries[c->count];
    /* A failure is cached too (tex 0), so it is logged once, not every frame. */
    bool ok = render(c, copy, px, &e->label);
    if (!ok)
        e->label = (struct vw_label){0, 0, 0};
    e->text = copy;
    e->px = px;
    e->last_used = c->frame;
    c->count++;
    return ok ? &e->label : NULL;
}

void vw_label_cache_end_frame(struct vw_label_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->count;) {
        if (c->frame - c->entries[i].last_used >= (uint64_t)c->max_idle) {
            free_entry(&c->entries[i]);
            c->entries[i] = c->entries[--c->count];
        } else {
            i++;
        }
    }
    c->frame++;
}
