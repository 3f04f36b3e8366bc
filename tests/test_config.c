/* test_config: the wall-file loader. Valid files parse to the right model; every kind
 * of error reads exactly "path:line: message"; a file with several errors reports them
 * all, in file order. Test files are written to a fresh temporary folder, one config
 * line per C line below so that line numbers can be read off the source. */
#include <errno.h>
#include <pthread.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/config.h"
#include "base/errors.h"
#include "base/strmap.h"
#include "base/utf8.h"

static int passed, failed;

static bool str_eq(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (cond) {                                                            \
            passed++;                                                          \
        } else {                                                               \
            failed++;                                                          \
            fprintf(stderr, "%s:%d: FAILED: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)
#define CHECK_STR(a, b) \
    CHECK(str_eq((a), (b)), "got \"%s\", want \"%s\"", (a) ? (a) : "(null)", (b))
#define CHECK_INT(a, b) CHECK((a) == (b), "got %d, want %d", (int)(a), (int)(b))
#define CHECK_NUM(a, b) CHECK(fabs((a) - (b)) < 1e-9, "got %g, want %g", (double)(a), (double)(b))
#define CHECK_RECT(r, X, Y, W, H)                                                                 \
    CHECK(fabs((r).x - (X)) < 1e-9 && fabs((r).y - (Y)) < 1e-9 && fabs((r).w - (W)) < 1e-9 &&     \
              fabs((r).h - (H)) < 1e-9,                                                           \
          "got [%g, %g, %g, %g], want [%g, %g, %g, %g]", (r).x, (r).y, (r).w, (r).h, (double)(X), \
          (double)(Y), (double)(W), (double)(H))

static char tmpdir[64];

/* Writes `text` to tmpdir/name; returns the path (static buffer, one at a time). */
static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "test_config: cannot write %s: %s\n", path, strerror(errno));
        exit(2);
    }
    return path;
}

/* Loads a config that must be valid; a NULL return has already been counted as a failure. */
static struct vw_config *load_ok(const char *name, const char *text)
{
    const char *path = write_file(name, text);
    struct vw_errors errs;
    vw_errors_init(&errs);
    struct vw_config *cfg = vw_config_load(path, &errs);
    CHECK(cfg != NULL, "%s did not load: %s (%d errors)", name, vw_errors_first(&errs), errs.count);
    for (int i = 0; i < errs.count; i++)
        fprintf(stderr, "  %s\n", errs.msgs[i]);
    CHECK_INT(errs.count, 0);
    vw_errors_finish(&errs);
    return cfg;
}

/* Loads `path` and checks it fails with exactly the messages `want` (NULL-terminated),
 * each written without the "path:" prefix, e.g. "5: unknown key 'colour' in wall". */
static void expect_errors_at(int line, const char *path, const char *const *want)
{
    struct vw_errors errs;
    vw_errors_init(&errs);
    struct vw_config *cfg = vw_config_load(path, &errs);
    int n = 0;
    while (want[n])
        n++;
    bool same = cfg == NULL && errs.count == n;
    for (int i = 0; same && i < n; i++) {
        char full[1024];
        snprintf(full, sizeof full, "%s:%s", path, want[i]);
        same = !strcmp(full, errs.msgs[i]);
    }
    if (same) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "%s:%d: FAILED: errors of %s\n  got %d%s:\n", __FILE__, line, path,
                errs.count, cfg ? " (and a model)" : "");
        for (int i = 0; i < errs.count; i++)
            fprintf(stderr, "    %s\n", errs.msgs[i]);
        fprintf(stderr, "  want %d:\n", n);
        for (int i = 0; i < n; i++)
            fprintf(stderr, "    %s:%s\n", path, want[i]);
    }
    vw_config_destroy(cfg);
    vw_errors_finish(&errs);
}

#define EXPECT_ERRORS(name, text, ...) \
    expect_errors_at(__LINE__, write_file(name, text), (const char *const[]){__VA_ARGS__, NULL})

/* A valid 2x2 wall and two sources on lines 1-2; scenes follow from line 3. */
#define HEAD                                                                                    \
    "wall = { screen = { width = 640; height = 360; }; grid = { columns = 2; rows = 2; }; };\n" \
    "sources = ( { id = \"a\"; url = \"a.mp4\"; }, { id = \"b\"; url = \"rtsp://192.0.2.1/b\"; } );\n"
/* One scene "s" whose tiles start on line 4. */
#define SCENE_OPEN "scenes = ( { id = \"s\"; tiles = (\n"
#define SCENE_CLOSE ");});\n"

static void test_full(void)
{
    struct vw_config *cfg = load_ok(
        "full.cfg",
        "# every key\n"                                                                /* 1 */
        "wall = {\n"                                                                   /* 2 */
        "  name = \"District command center\";\n"                                      /* 3 */
        "  screen = { width = 1920; height = 1080; };\n"                               /* 4 */
        "  grid = { columns = 6; rows = 3; };\n"                                       /* 5 */
        "  bezel = { x = 24; y = 12; };\n"                                             /* 6 */
        "  labels = false;\n"                                                          /* 7 */
        "  font = \"fonts/NotoSansCJK.ttc\";\n"                                        /* 8 */
        "  label_size = 40;\n"                                                         /* 9 */
        "  hwaccel = \"vaapi\";\n"                                                     /* 10 */
        "  output = \"displays\";\n"                                                   /* 11 */
        "  displays = ( { display = 0; panels = [0, 0, 3, 3]; },\n"                    /* 12 */
        "               { display = 1; panels = [3, 0, 3, 3]; } );\n"                  /* 13 */
        "};\n"                                                                         /* 14 */
        "sources = (\n"                                                                /* 15 */
        "  { id = \"north-gate\"; name = \"北门\"; url = \"rtsp://192.0.2.10/ch1\";\n" /* 16 */
        "    substream = \"rtsp://192.0.2.10/ch2\"; transport = \"udp\"; hwaccel = \"cuda\";\n" /* 17
                                                                                                 */
        "    stall_timeout = 1.5; linger = 0; warm = true; },\n" /* 18 */
        "  { id = \"lobby\"; url = \"clips/lobby.mp4\"; loop = true; substream = \"/abs/s.mp4\"; }\n" /* 19 */
        ");\n"                                                                              /* 20 */
        "scenes = (\n"                                                                      /* 21 */
        "  { id = \"overview\"; name = \"Overview\";\n"                                     /* 22 */
        "    tiles = (\n"                                                                   /* 23 */
        "      { source = \"north-gate\"; rect = [0.0, 0.0, 1.0, 1.0]; id = \"main\"; },\n" /* 24 */
        "      { source = \"lobby\"; rect = [1, 0, 2, 2]; fit = \"stretch\"; label = true; },\n" /* 25 */
        "      { source = \"lobby\"; rect = (3, 0.5, 1, 1.5); fit = \"fill\"; }\n"         /* 26 */
        "    );\n"                                                                         /* 27 */
        "  },\n"                                                                           /* 28 */
        "  { id = \"incident\"; default = true; grid = [3, 3];\n"                          /* 29 */
        "    tiles = ( { source = \"lobby\"; cell = [1, 2]; span = [2, 1]; },\n"           /* 30 */
        "              { source = \"north-gate\"; cell = [0, 0]; } ); },\n"                /* 31 */
        "  { id = \"blank\"; tiles = (); }\n"                                              /* 32 */
        ");\n"                                                                             /* 33 */
        "control = { listen = [\"unix:/run/vwall/vwall.sock\", \"tcp:127.0.0.1:7700\"];\n" /* 34 */
        "  token = \"s3cret\"; screenshot_dir = \"shots\"; socket_group = \"video\"; };\n"); /* 35
                                                                                              */
    if (!cfg)
        return;
    char want[512];

    snprintf(want, sizeof want, "%s/full.cfg", tmpdir);
    CHECK_STR(cfg->path, want);
    CHECK_STR(cfg->dir, tmpdir);
    CHECK_STR(cfg->name, "District command center");
    CHECK_INT(cfg->screen_w, 1920);
    CHECK_INT(cfg->screen_h, 1080);
    CHECK_INT(cfg->columns, 6);
    CHECK_INT(cfg->rows, 3);
    CHECK_INT(cfg->bezel_x, 24);
    CHECK_INT(cfg->bezel_y, 12);
    CHECK(!cfg->labels, "labels = false");
    snprintf(want, sizeof want, "%s/fonts/NotoSansCJK.ttc", tmpdir);
    CHECK_STR(cfg->font, want);
    CHECK_INT(cfg->label_size, 40);
    CHECK_INT(cfg->hwaccel, VW_HWACCEL_VAAPI);
    CHECK_STR(cfg->output, "displays");
    CHECK_INT(cfg->display_count, 2);
    if (cfg->display_count == 2) {
        CHECK_INT(cfg->displays[1].display, 1);
        CHECK_INT(cfg->displays[1].panel_x, 3);
        CHECK_INT(cfg->displays[1].panel_y, 0);
        CHECK_INT(cfg->displays[1].columns, 3);
        CHECK_INT(cfg->displays[1].rows, 3);
    }

    CHECK_INT(cfg->source_count, 2);
    if (cfg->source_count == 2) {
        const struct vw_source_cfg *s = &cfg->sources[0];
        CHECK_STR(s->id, "north-gate");
        CHECK_STR(s->name, "北门"); /* UTF-8 untouched */
        CHECK(!strcmp(s->name, "\xe5\x8c\x97\xe9\x97\xa8"), "UTF-8 bytes of 北门");
        CHECK_STR(s->url, "rtsp://192.0.2.10/ch1");
        CHECK_STR(s->substream, "rtsp://192.0.2.10/ch2");
        CHECK_STR(s->transport, "udp");
        CHECK_INT(s->hwaccel, VW_HWACCEL_CUDA);
        CHECK_NUM(s->stall_timeout, 1.5);
        CHECK_NUM(s->linger, 0);
        CHECK(s->warm && !s->loop, "warm, not loop");
        CHECK_INT(s->line, 16);

        s = &cfg->sources[1];
        CHECK_STR(s->name, "lobby"); /* defaults to id */
        snprintf(want, sizeof want, "%s/clips/lobby.mp4", tmpdir);
        CHECK_STR(s->url, want);
        CHECK_STR(s->substream, "/abs/s.mp4");
        CHECK(s->loop && !s->warm, "loop, not warm");
        CHECK_INT(s->hwaccel, VW_HWACCEL_VAAPI); /* the wall's */
        CHECK_STR(s->transport, "tcp");
        CHECK_NUM(s->stall_timeout, 3);
        CHECK_NUM(s->linger, 10);
    }

    CHECK_INT(cfg->scene_count, 3);
    CHECK_INT(cfg->default_scene, 1);
    if (cfg->scene_count == 3) {
        const struct vw_scene_cfg *sc = &cfg->scenes[0];
        CHECK_STR(sc->id, "overview");
        CHECK_STR(sc->name, "Overview");
        CHECK(!sc->is_default, "overview is not the default");
        CHECK_INT(sc->line, 22);
        CHECK_INT(sc->tile_count, 3);
        if (sc->tile_count == 3) {
            CHECK_STR(sc->tiles[0].id, "main");
            CHECK_INT(sc->tiles[0].source, 0);
            CHECK_RECT(sc->tiles[0].rect, 0, 0, 1, 1);
            CHECK_INT(sc->tiles[0].fit, VW_FIT_FIT);
            CHECK(!sc->tiles[0].label, "label defaults to wall.labels (false)");
            CHECK_INT(sc->tiles[0].line, 24);
            CHECK(sc->tiles[1].id == NULL, "no tile id");
            CHECK_INT(sc->tiles[1].source, 1);
            CHECK_RECT(sc->tiles[1].rect, 1, 0, 2, 2); /* integers in rect */
            CHECK_INT(sc->tiles[1].fit, VW_FIT_STRETCH);
            CHECK(sc->tiles[1].label, "label = true overrides");
            CHECK_RECT(sc->tiles[2].rect, 3, 0.5, 1, 1.5); /* a list mixing ints and floats */
            CHECK_INT(sc->tiles[2].fit, VW_FIT_FILL);
        }
        sc = &cfg->scenes[1];
        CHECK_STR(sc->name, "incident"); /* defaults to id */
        CHECK(sc->is_default, "incident is the default");
        CHECK_INT(sc->tile_count, 2);
        if (sc->tile_count == 2) {
            /* grid [3, 3] over 6x3 panels: a cell is 2 panels wide, 1 high */
            CHECK_RECT(sc->tiles[0].rect, 2, 2, 4, 1);
            CHECK_RECT(sc->tiles[1].rect, 0, 0, 2, 1);
        }
        CHECK_INT(cfg->scenes[2].tile_count, 0); /* an empty tiles list is allowed */
    }
    CHECK_INT(vw_config_find_source(cfg, "lobby"), 1);
    CHECK_INT(vw_config_find_source(cfg, "北门"), -1); /* by id, not by name */
    CHECK_INT(vw_config_find_scene(cfg, "blank"), 2);
    CHECK_INT(vw_config_find_scene(cfg, "nope"), -1);

    CHECK_INT(cfg->control.listen_count, 2);
    if (cfg->control.listen_count == 2) {
        CHECK_STR(cfg->control.listen[0], "unix:/run/vwall/vwall.sock");
        CHECK_STR(cfg->control.listen[1], "tcp:127.0.0.1:7700");
    }
    CHECK_STR(cfg->control.token, "s3cret");
    snprintf(want, sizeof want, "%s/shots", tmpdir);
    CHECK_STR(cfg->control.screenshot_dir, want);
    CHECK_STR(cfg->control.socket_group, "video");
    vw_config_destroy(cfg);
}

static void test_defaults(void)
{
    struct vw_config *cfg = load_ok(
        "minimal-wall.cfg",
        "wall = { screen = { width = 320; height = 240; }; grid = { columns = 4; rows = 2; }; };\n"
        "sources = ( { id = \"x\"; url = \"udp://239.0.0.1:1234\"; } );\n"
        "scenes = ( { id = \"one\"; grid = [8, 1]; tiles = ( { source = \"x\"; cell = [3, 0]; },\n"
        "                                                     { source = \"x\"; cell = [7, 0]; label = false; } ); },\n"
        "           { id = \"two\"; tiles = [ ]; } );\n");
    if (!cfg)
        return;
    CHECK_STR(cfg->name, "minimal-wall"); /* the file's name */
    CHECK_INT(cfg->bezel_x, 0);
    CHECK_INT(cfg->bezel_y, 0);
    CHECK(cfg->labels, "labels default true");
    CHECK(cfg->font == NULL, "no font");
    CHECK_INT(cfg->label_size, 12); /* max(12, 240 / 30) */
    CHECK_INT(cfg->hwaccel, VW_HWACCEL_NONE);
    CHECK_STR(cfg->output, "window");
    CHECK_INT(cfg->display_count, 0);
    CHECK_INT(cfg->default_scene, 0);
    CHECK_STR(cfg->sources[0].name, "x");
    CHECK_STR(cfg->sources[0].url, "udp://239.0.0.1:1234");
    CHECK(cfg->sources[0].substream == NULL, "no substream");
    CHECK_INT(cfg->sources[0].hwaccel, VW_HWACCEL_NONE);
    CHECK(cfg->substream_ratio == 4 && cfg->sources[0].substream_ratio == 4,
          "substream_ratio defaults to 4");
    CHECK(cfg->scene_count == 2 && cfg->scenes[0].tile_count == 2, "two scenes, two tiles");
    if (cfg->scene_count == 2 && cfg->scenes[0].tile_count == 2) {
        CHECK_RECT(cfg->scenes[0].tiles[0].rect, 1.5, 0, 0.5, 2); /* half-panel cells */
        CHECK(cfg->scenes[0].tiles[0].label, "label defaults to wall.labels (true)");
        CHECK_RECT(cfg->scenes[0].tiles[1].rect, 3.5, 0, 0.5, 2);
        CHECK(!cfg->scenes[0].tiles[1].label, "label = false");
        CHECK_INT(cfg->scenes[1].tile_count, 0);
    }
    CHECK(cfg->control.listen_count == 0 && !cfg->control.listen && !cfg->control.token &&
              !cfg->control.screenshot_dir && !cfg->control.socket_group,
          "no control group: all empty");
    vw_config_destroy(cfg);

    /* label_size follows the screen height */
    cfg = load_ok(
        "tall.cfg",
        "wall = { screen = { width = 1920; height = 1080; }; grid = { columns = 1; rows = 1; }; };\n"
        "sources = (); scenes = ( { id = \"e\"; tiles = (); } );\n");
    if (cfg)
        CHECK_INT(cfg->label_size, 36);
    vw_config_destroy(cfg);

    /* substream_ratio: the wall's value is the sources' default; a source may override it */
    cfg = load_ok(
        "ratio.cfg",
        "wall = { screen = { width = 1920; height = 1080; }; grid = { columns = 1; rows = 1; };\n"
        "  substream_ratio = 2.5; };\n"
        "sources = ( { id = \"a\"; url = \"a.mp4\"; },\n"
        "  { id = \"b\"; url = \"b.mp4\"; substream = \"b-sub.mp4\"; substream_ratio = 9.0; } );\n"
        "scenes = ( { id = \"e\"; tiles = (); } );\n");
    if (cfg) {
        CHECK(cfg->substream_ratio == 2.5, "wall.substream_ratio");
        CHECK(cfg->sources[0].substream_ratio == 2.5, "a source takes the wall's substream_ratio");
        CHECK(cfg->sources[1].substream_ratio == 9.0, "a source's own substream_ratio");
    }
    vw_config_destroy(cfg);
}

/* A wall file named by a relative path resolves against its own folder, not the cwd. */
static void test_relative_paths(void)
{
    char sub[128], cwd[512];
    snprintf(sub, sizeof sub, "%s/sub", tmpdir);
    CHECK(mkdir(sub, 0700) == 0, "mkdir %s: %s", sub, strerror(errno));
    write_file(
        "sub/wall.cfg",
        "wall = { screen = { width = 64; height = 64; }; grid = { columns = 1; rows = 1; };\n"
        "         font = \"../fonts/f.ttf\"; };\n"
        "sources = ( { id = \"c\"; url = \"clips/c.mp4\"; substream = \"file:///srv/c.mp4\"; } );\n"
        "scenes = ( { id = \"s\"; tiles = ( { source = \"c\"; rect = [0, 0, 1, 1]; } ); } );\n"
        "control = { screenshot_dir = \"/var/shots\"; };\n");
    if (!getcwd(cwd, sizeof cwd) || chdir(tmpdir) != 0) {
        CHECK(0, "chdir %s", tmpdir);
        return;
    }
    struct vw_errors errs;
    vw_errors_init(&errs);
    struct vw_config *cfg = vw_config_load("sub/wall.cfg", &errs);
    CHECK(cfg != NULL, "sub/wall.cfg: %s", vw_errors_first(&errs));
    if (cfg) {
        CHECK_STR(cfg->path, "sub/wall.cfg");
        CHECK_STR(cfg->dir, "sub");
        CHECK_STR(cfg->sources[0].url, "sub/clips/c.mp4");
        CHECK_STR(cfg->sources[0].substream, "file:///srv/c.mp4");
        CHECK_STR(cfg->font, "sub/../fonts/f.ttf");
        CHECK_STR(cfg->control.screenshot_dir, "/var/shots");
    }
    vw_config_destroy(cfg);
    if (chdir(sub) == 0) {
        cfg = vw_config_load("wall.cfg", &errs);
        CHECK(cfg != NULL, "wall.cfg: %s", vw_errors_first(&errs));
        if (cfg) {
            CHECK_STR(cfg->dir, ".");
            CHECK_STR(cfg->sources[0].url, "./clips/c.mp4");
        }
        vw_config_destroy(cfg);
    }
    CHECK(chdir(cwd) == 0, "chdir back");
    vw_errors_finish(&errs);
}

/* The errors list is appended to, never cleared. */
static void test_appends(void)
{
    struct vw_errors errs;
    vw_errors_init(&errs);
    vw_errors_add(&errs, "earlier");
    char path[256];
    snprintf(path, sizeof path, "%s/missing.cfg", tmpdir);
    CHECK(vw_config_load(path, &errs) == NULL, "missing file");
    CHECK_INT(errs.count, 2);
    CHECK_STR(errs.msgs[0], "earlier");
    vw_errors_finish(&errs);
    vw_config_destroy(NULL); /* NULL ok */
}

static void test_file_errors(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s/no-such.cfg", tmpdir);
    expect_errors_at(__LINE__, path,
                     (const char *const[]){" cannot open: No such file or directory", NULL});
    expect_errors_at(__LINE__, tmpdir, (const char *const[]){" cannot open: Is a directory", NULL});

    EXPECT_ERRORS("syntax.cfg",
                  "wall = {\n"
                  "  name = \"x\";\n"
                  "  screen = { width = ; };\n"
                  "};\n",
                  "3: syntax error");
    EXPECT_ERRORS("mixed.cfg", "x = 1;\ny = [1, 2.5];\n",
                  "2: syntax error: mismatched element type in array");
    EXPECT_ERRORS("twice.cfg", "wall = {};\nwall = {};\n",
                  "2: syntax error: duplicate setting name");
    EXPECT_ERRORS("empty.cfg", "", " missing key 'wall' at top level",
                  " missing key 'sources' at top level", " missing key 'scenes' at top level");
}

static void test_wall_errors(void)
{
    EXPECT_ERRORS(
        "unknown.cfg",
        "wall = { screen = { width = 640; height = 360; }; grid = { columns = 2; rows = 2; };\n"
        "  colour = \"red\"; };\n"
        "sources = (); scenes = ( { id = \"s\"; tiles = (); } );\n"
        "scene = 1;\n",
        "2: unknown key 'colour' in wall", "4: unknown key 'scene' at top level");
    EXPECT_ERRORS(
        "types.cfg",
        "wall = {\n"
        "  screen = { width = \"1920\"; height = 1080.0; };\n"
        "  grid = [6, 3];\n"
        "  labels = 1;\n"
        "  name = 7;\n"
        "};\n"
        "sources = {}; scenes = ( { id = \"s\"; tiles = (); } );\n"
        "control = { listen = \"unix:/x\"; };\n",
        "2: wall.screen.width: expected an integer", "2: wall.screen.height: expected an integer",
        "3: wall.grid: expected a group { ... }", "4: wall.labels: expected true or false",
        "5: wall.name: expected a string", "7: sources: expected a list ( { ... }, ... )",
        "8: control.listen: expected a list of strings [\"...\", ...]");
    EXPECT_ERRORS("ranges.cfg",
                  "wall = {\n"
                  "  screen = { width = 8; height = 20000; };\n"
                  "  grid = { columns = 0; rows = 65; };\n"
                  "  bezel = { x = -1; y = 0; };\n"
                  "  label_size = 2;\n"
                  "};\n"
                  "sources = (); scenes = ( { id = \"s\"; tiles = (); } );\n",
                  "2: wall.screen.width = 8 is out of range (16 to 16384 px)",
                  "2: wall.screen.height = 20000 is out of range (16 to 16384 px)",
                  "3: wall.grid.columns = 0 is out of range (1 to 64)",
                  "3: wall.grid.rows = 65 is out of range (1 to 64)",
                  "4: wall.bezel.x = -1 is out of range (0 to 16384 px)",
                  "5: wall.label_size = 2 is out of range (4 to 1024 px)");
    EXPECT_ERRORS("panels.cfg",
                  "wall = { screen = { width = 640; height = 360; };\n"
                  "  grid = { columns = 10; rows = 7; }; };\n"
                  "sources = (); scenes = ( { id = \"s\"; tiles = (); } );\n",
                  "2: wall.grid: 1..64 panels in all, got 70");
    EXPECT_ERRORS("missing.cfg",
                  "wall = {\n"
                  "  screen = { width = 640; };\n"
                  "};\n"
                  "sources = ();\n",
                  " missing key 'scenes' at top level", "1: missing key 'grid' in wall",
                  "2: missing key 'height' in wall.screen");
    EXPECT_ERRORS(
        "enums.cfg",
        "wall = { screen = { width = 640; height = 360; }; grid = { columns = 2; rows = 2; };\n"
        "  hwaccel = \"nvdec\";\n"
        "  output = \"kms\"; };\n"
        "sources = (); scenes = ( { id = \"s\"; tiles = (); } );\n",
        "2: wall.hwaccel: expected one of \"none\", \"auto\", \"vaapi\", \"cuda\", got \"nvdec\"",
        "3: wall.output: expected one of \"window\", \"fullscreen\", \"displays\", got \"kms\"");
    EXPECT_ERRORS(
        "displays.cfg",
        "wall = { screen = { width = 640; height = 360; }; grid = { columns = 4; rows = 2; };\n"
        "  output = \"displays\";\n"
        "  displays = (\n"
        "    { display = 0; panels = [0, 0, 2, 2]; },\n"
        "    { display = 1; panels = [3, 0, 2, 2]; },\n"
        "    { display = 2; panels = [1, 1, 2, 1]; },\n"
        "    { display = 0; panels = [2, 0, 1, 1]; },\n"
        "    { display = 3; panels = [2, 0, 0, 1]; },\n"
        "    { display = 4; panels = [2, 0, 1, 1]; screen = 1; }\n"
        "  ); };\n"
        "sources = (); scenes = ( { id = \"s\"; tiles = (); } );\n",
        "5: wall.displays[1].panels: [3, 0, 2, 2] lies outside the 4x2 panel grid",
        "6: wall.displays[2].panels: overlaps the panels of display 0",
        "7: wall.displays[3].display: display 0 is already used (line 4)",
        "8: wall.displays[4].panels: columns and rows must be >= 1, got [2, 0, 0, 1]",
        "9: unknown key 'screen' in wall.displays[5]");
    EXPECT_ERRORS(
        "no-displays.cfg",
        "wall = { screen = { width = 640; height = 360; }; grid = { columns = 2; rows = 2; };\n"
        "  output = \"displays\"; };\n"
        "sources = (); scenes = ( { id = \"s\"; tiles = (); } );\n",
        "2: wall.output: \"displays\" needs wall.displays = ( { display = 0; panels = [x, y, columns, "
        "rows]; }, ... )");
}

static void test_source_errors(void)
{
    EXPECT_ERRORS(
        "sources.cfg",
        "wall = { screen = { width = 640; height = 360; }; grid = { columns = 2; rows = 2; }; };\n"
        "sources = (\n"
        "  { id = \"a\"; url = \"a.mp4\"; },\n"
        "  { id = \"a\";\n"
        "    url = \"b.mp4\"; },\n"
        "  { id = \"\"; url = \"\"; },\n"
        "  { id = \"c\"; },\n"
        "  { id = \"d\"; url = \"d.mp4\"; stall_timeout = 0; linger = -1; transport = \"http\"; },\n"
        "  { id = \"e\"; url = \"e.mp4\"; hwaccel = true; loop = \"yes\"; colour = 1; },\n"
        "  \"f\" );\n"
        "scenes = ( { id = \"s\"; tiles = (); } );\n",
        "4: sources[1].id: duplicate source id 'a' (first at line 3)",
        "6: sources[2].id: expected a non-empty string, got \"\"",
        "6: sources[2].url: expected a non-empty string, got \"\"",
        "7: missing key 'url' in sources[3]",
        "8: sources[4].stall_timeout = 0 is out of range (0.5 to 3600 s)",
        "8: sources[4].linger = -1 is out of range (0 to 86400 s)",
        "8: sources[4].transport: expected one of \"tcp\", \"udp\", got \"http\"",
        "9: sources[5].hwaccel: expected one of \"none\", \"auto\", \"vaapi\", \"cuda\"",
        "9: sources[5].loop: expected true or false", "9: unknown key 'colour' in sources[5]",
        "10: sources[6]: expected a group { id = \"...\"; url = \"...\"; }");
}

static void test_scene_errors(void)
{
    EXPECT_ERRORS("no-scenes.cfg", HEAD "scenes = ();\n", "3: scenes: expected at least one scene");
    EXPECT_ERRORS(
        "scenes.cfg",
        HEAD "scenes = (\n"
             "  { id = \"one\"; default = true; tiles = (); },\n"
             "  { id = \"\"; tiles = (); },\n"
             "  { id = \"one\"; tiles = (); },\n"
             "  { id = \"two\";\n"
             "    default = true; tiles = (); },\n"
             "  { id = \"three\"; },\n"
             "  { id = \"four\"; tiles = 3; grid = [0, 2]; }\n"
             ");\n",
        "5: scenes[1].id: expected a non-empty string, got \"\"",
        "6: scenes[2].id: duplicate scene id 'one' (first at line 4)",
        "8: scenes[3].default: more than one default scene (the first is 'one' at line 4)",
        "9: missing key 'tiles' in scenes[4]",
        "10: scenes[5].tiles: expected a list ( { ... }, ... )",
        "10: scenes[5].grid[0] = 0 is out of range (1 to 64)");
}

static void test_tile_errors(void)
{
    EXPECT_ERRORS(
        "tiles.cfg",
        HEAD SCENE_OPEN
        "  { source = \"nrth-gate\"; rect = [0, 0, 1, 1]; },\n"                      /* 4 */
        "  { source = \"a\"; rect = [1.5, 0.0, 1.0, 1.0]; },\n"                      /* 5 */
        "  { source = \"a\"; rect = [0, 0, 0, 1]; },\n"                              /* 6 */
        "  { source = \"a\"; rect = [0, 0, 1, 1]; fit = \"zoom\"; },\n"              /* 7 */
        "  { source = \"a\"; },\n"                                                   /* 8 */
        "  { rect = [0, 0, 1, 1]; },\n"                                              /* 9 */
        "  { source = \"a\"; rect = [0, 0, 1]; },\n"                                 /* 10 */
        "  { source = \"a\"; rect = \"full\"; label = 1; },\n"                       /* 11 */
        "  { id = \"t\"; source = \"b\"; rect = [0, 0, 2, 2]; },\n"                  /* 12 */
        "  { id = \"t\"; source = \"b\"; rect = [0.0, 0.0, 2.0000000001, 2.0]; },\n" /* 13 */
        "  { source = \"a\"; rect = [0, 0, 1, 1]; cell = [0, 0]; },\n"               /* 14 */
        "  { source = \"a\"; cell = [0, 0]; },\n"                                    /* 15 */
        "  { source = \"a\"; rect = [0, 0, 1, 1]; span = [1, 1]; },\n"               /* 16 */
        "  { source = \"a\"; rect = (-0.5, 0, 1, 1); volume = 3; },\n"               /* 17 */
        "  7\n"                                                                      /* 18 */
        SCENE_CLOSE,
        "4: scenes[0].tiles[0].source: unknown source 'nrth-gate'",
        "5: scenes[0].tiles[1].rect: [1.5, 0, 1, 1] lies outside the 2x2 panel wall",
        "6: scenes[0].tiles[2].rect: width and height must be > 0, got [0, 0, 0, 1]",
        "7: scenes[0].tiles[3].fit: expected one of \"fit\", \"fill\", \"stretch\", got \"zoom\"",
        "8: missing key 'rect' (or 'cell') in scenes[0].tiles[4]",
        "9: missing key 'source' in scenes[0].tiles[5]",
        "10: scenes[0].tiles[6].rect: expected 4 numbers [x, y, w, h]",
        "11: scenes[0].tiles[7].rect: expected 4 numbers [x, y, w, h]",
        "11: scenes[0].tiles[7].label: expected true or false",
        "13: scenes[0].tiles[9].id: duplicate tile id 't' in scene (first at line 12)",
        "14: scenes[0].tiles[10]: give either rect or cell, not both",
        "15: scenes[0].tiles[11].cell: needs the scene's grid = [columns, rows]",
        "16: scenes[0].tiles[12].span: span goes with cell; a rect gives its own size",
        "17: unknown key 'volume' in scenes[0].tiles[13]",
        "17: scenes[0].tiles[13].rect: [-0.5, 0, 1, 1] lies outside the 2x2 panel wall",
        "18: scenes[0].tiles[14]: expected a group { source = \"...\"; rect = [x, y, w, h]; }");
    EXPECT_ERRORS(
        "cells.cfg",
        HEAD "scenes = ( { id = \"s\"; grid = [4, 4]; tiles = (\n"
             "  { source = \"a\"; cell = [3, 0]; span = [2, 1]; },\n"
             "  { source = \"a\"; cell = [0, 4]; },\n"
             "  { source = \"a\"; cell = [0, 0]; span = [0, 1]; },\n"
             "  { source = \"a\"; cell = [1.0, 0.0]; }\n" SCENE_CLOSE,
        "4: scenes[0].tiles[0].cell: cell [3, 0] with span [2, 1] lies outside the scene's 4x4 grid",
        "5: scenes[0].tiles[1].cell: cell [0, 4] with span [1, 1] lies outside the scene's 4x4 grid",
        "6: scenes[0].tiles[2].span[0] = 0 is out of range (1 to 64)",
        "7: scenes[0].tiles[3].cell: expected 2 integers [column, row]");
    /* A broken wall grid is reported once, not again for every tile. */
    EXPECT_ERRORS(
        "no-cascade.cfg",
        "wall = { screen = { width = 640; height = 360; }; grid = { columns = 0; rows = 2; }; };\n"
        "sources = ( { id = \"a\"; url = \"a.mp4\"; } );\n" SCENE_OPEN
        "  { source = \"a\"; rect = [5, 5, 1, 1]; }\n" SCENE_CLOSE,
        "1: wall.grid.columns = 0 is out of range (1 to 64)");
}

static void test_control_errors(void)
{
    EXPECT_ERRORS(
        "control.cfg",
        HEAD "scenes = ( { id = \"s\"; tiles = (); } );\n"
             "control = {\n"
             "  listen = [\"unix:/run/v.sock\",\n"
             "            \"tcp:7700\", \"tcp:0.0.0.0:99999\", \"unix:\", \"/run/v.sock\"];\n"
             "  token = \"\";\n"
             "  screenshots = \"x\";\n"
             "};\n",
        "6: control.listen[1]: expected \"unix:PATH\" or \"tcp:HOST:PORT\", got \"tcp:7700\"",
        "6: control.listen[2]: expected \"unix:PATH\" or \"tcp:HOST:PORT\", got \"tcp:0.0.0.0:99999\"",
        "6: control.listen[3]: expected \"unix:PATH\" or \"tcp:HOST:PORT\", got \"unix:\"",
        "6: control.listen[4]: expected \"unix:PATH\" or \"tcp:HOST:PORT\", got \"/run/v.sock\"",
        "7: control.token: expected a non-empty string, got \"\"",
        "8: unknown key 'screenshots' in control");
}

/* The cluster group: a good one read whole, and every kind of mistake named with its line. */
static void test_cluster(void)
{
    struct vw_config *cfg = load_ok(
        "cluster.cfg",
        HEAD "scenes = ( { id = \"s\"; tiles = (); } );\n"
             "cluster = { nats = [\"nats://10.0.0.11:4222\", \"tls://10.0.0.12:4222\"];\n"
             "  name = \"district-hall\"; lead_ms = 80;\n"
             "  nodes = ( { id = \"a\"; panels = \"0-1\"; }, { id = \"b\"; panels = \"2,3\"; } );\n"
             "  user = \"wall\"; password = \"s3cret\"; };\n");
    if (cfg) {
        CHECK(cfg->cluster.enabled, "the cluster group is read");
        CHECK_INT(cfg->cluster.nats_count, 2);
        CHECK_STR(cfg->cluster.name, "district-hall");
        CHECK_INT(cfg->cluster.lead_ms, 80);
        CHECK_INT(cfg->cluster.playout_ms, 200); /* the default */
        CHECK_INT(cfg->cluster.node_count, 2);
        CHECK_STR(cfg->cluster.nodes[1].panels, "2,3");
        CHECK_INT(vw_config_find_node(cfg, "b"), 1);
        CHECK_INT(vw_config_find_node(cfg, "z"), -1);
        CHECK_STR(cfg->cluster.user, "wall");
    }
    vw_config_destroy(cfg);
    EXPECT_ERRORS(
        "cluster-bad.cfg",
        HEAD "scenes = ( { id = \"s\"; tiles = (); } );\n"
             "cluster = {\n"
             "  nats = [\"nats://127.0.0.1:4222\", \"http://x\"];\n"
             "  name = \"district hall\"; lead_ms = 20000;\n"
             "  nodes = ( { id = \"a\"; panels = \"0-1\"; },\n"
             "            { id = \"b\"; panels = \"1-2\"; },\n"
             "            { id = \"a\"; panels = \"3-4\"; } );\n"
             "  user = \"x\"; token = \"t\";\n"
             "};\n",
        "4: cluster: user and password go together",
        "4: cluster: one kind of credentials (user/password, token, nkey/nkey_seed or creds)",
        "5: cluster.nats[1]: expected \"nats://HOST:PORT\" or \"tls://HOST:PORT\", got \"http://x\"",
        "6: cluster.lead_ms = 20000 is out of range (0 to 10000 ms)",
        "6: cluster.name: letters, digits, '-' and '_' only (it names a NATS bucket), got "
        "\"district hall\"",
        "8: cluster.nodes[1].panels: panel 1 belongs to node 'a' already",
        "9: cluster.nodes[2].id: duplicate node id 'a' (first at line 7)",
        "9: cluster.nodes[2].panels: \"3-4\": panels are numbered 0..3 (row by row)");
}

/* One file, problems in every section: all are reported, in file order. */
static void test_many_errors(void)
{
    EXPECT_ERRORS(
        "many.cfg",
        "scenes = (\n"                                                                       /* 1 */
        "  { id = \"overview\"; default = true;\n"                                           /* 2 */
        "    tiles = ( { source = \"nrth-gate\"; rect = [0, 0, 1, 1]; },\n"                  /* 3 */
        "              { source = \"lobby\"; rect = [5, 0, 2, 2]; fit = \"zoom\"; } ); },\n" /* 4 */
        "  { id = \"overview\"; default = true; tiles = (); }\n"                             /* 5 */
        ");\n"                                                                               /* 6 */
        "wall = {\n"                                                                         /* 7 */
        "  screen = { width = 1920; height = \"1080\"; };\n"                                 /* 8 */
        "  grid = { columns = 6; rows = 3; };\n"                                             /* 9 */
        "  colour = \"red\";\n"                                                           /* 10 */
        "};\n"                                                                            /* 11 */
        "sources = (\n"                                                                   /* 12 */
        "  { id = \"north-gate\"; name = \"北门\"; url = \"rtsp://192.0.2.10/ch1\"; },\n" /* 13 */
        "  { id = \"lobby\"; url = \"clips/lobby.mp4\"; loop = true; },\n"                /* 14 */
        "  { id = \"lobby\"; url = \"x\"; linger = -3; }\n"                               /* 15 */
        ");\n",                                                                           /* 16 */
        "3: scenes[0].tiles[0].source: unknown source 'nrth-gate'",
        "4: scenes[0].tiles[1].fit: expected one of \"fit\", \"fill\", \"stretch\", got \"zoom\"",
        "4: scenes[0].tiles[1].rect: [5, 0, 2, 2] lies outside the 6x3 panel wall",
        "5: scenes[1].id: duplicate scene id 'overview' (first at line 2)",
        "5: scenes[1].default: more than one default scene (the first is 'overview' at line 2)",
        "8: wall.screen.height: expected an integer", "10: unknown key 'colour' in wall",
        "15: sources[2].linger = -3 is out of range (0 to 86400 s)",
        "15: sources[2].id: duplicate source id 'lobby' (first at line 14)");
}

/* The shipped layouts load, and say what they claim. */
static void test_layouts(void)
{
    const char *root = getenv("VWALL_SOURCE_DIR");
    if (!root)
        root = VWALL_SOURCE_DIR;
    char path[512];
    struct vw_errors errs;
    vw_errors_init(&errs);

    snprintf(path, sizeof path, "%s/layouts/demo.cfg", root);
    struct vw_config *cfg = vw_config_load(path, &errs);
    CHECK(cfg != NULL, "%s: %s", path, vw_errors_first(&errs));
    if (cfg) {
        CHECK(cfg->columns == 2 && cfg->rows == 2 && cfg->screen_w == 640 && cfg->screen_h == 360,
              "demo: 2x2 of 640x360");
        CHECK_INT(cfg->source_count, 4);
        int focus = vw_config_find_scene(cfg, "focus");
        CHECK(focus >= 0, "demo has a focus scene");
        if (focus >= 0 && cfg->scenes[focus].tile_count > 0)
            CHECK_RECT(cfg->scenes[focus].tiles[0].rect, 0, 0, 2, 2);
        char want[600];
        snprintf(want, sizeof want, "%s/layouts/../assets/clips/demo-1.mp4", root);
        CHECK_STR(cfg->sources[0].url, want);
        CHECK(cfg->sources[0].loop, "demo clips loop");
        snprintf(want, sizeof want, "%s/layouts/../out", root);
        CHECK_STR(cfg->control.screenshot_dir, want);
    }
    vw_config_destroy(cfg);

    snprintf(path, sizeof path, "%s/layouts/township.cfg", root);
    cfg = vw_config_load(path, &errs);
    CHECK(cfg != NULL, "%s: %s", path, vw_errors_first(&errs));
    if (cfg)
        CHECK(cfg->columns == 2 && cfg->rows == 2 && cfg->source_count == 4 &&
                  cfg->scene_count >= 2,
              "township: 2x2, 4 cameras, 2+ scenes");
    vw_config_destroy(cfg);

    snprintf(path, sizeof path, "%s/layouts/district.cfg", root);
    cfg = vw_config_load(path, &errs);
    CHECK(cfg != NULL, "%s: %s", path, vw_errors_first(&errs));
    if (cfg) {
        CHECK(cfg->columns == 6 && cfg->rows == 3 && cfg->bezel_x == 12 && cfg->bezel_y == 12,
              "district: 6x3, bezel 12");
        CHECK(cfg->source_count >= 18, "district: ~20 sources, got %d", cfg->source_count);
        CHECK(cfg->scene_count >= 3 && cfg->scenes[0].tile_count >= 16,
              "district: overview has 16+ tiles");
    }
    vw_config_destroy(cfg);
    for (int i = 0; i < errs.count; i++)
        fprintf(stderr, "  %s\n", errs.msgs[i]);
    vw_errors_finish(&errs);
}

/* The broken file that the `vwall --check` test (tests/cmake/config.cmake) runs. */
static void test_bad_check_file(void)
{
    const char *root = getenv("VWALL_SOURCE_DIR");
    char path[512];
    snprintf(path, sizeof path, "%s/tests/configs/bad.cfg", root ? root : VWALL_SOURCE_DIR);
    expect_errors_at(
        __LINE__, path,
        (const char *const[]){"5: unknown key 'colour' in wall",
                              "10: scenes[0].tiles[0].source: unknown source 'nrth-gate'", NULL});
}

/* ---- catalogs, includes, encodings, ranges, new keys, scale ---- */

/* Loads tmpdir/name (written from `text` unless NULL) and returns its errors (the caller
 * finishes them); *cfg_out gets the model or NULL. */
static struct vw_config *load_with(const char *name, const char *text, struct vw_errors *errs)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    if (text)
        write_file(name, text);
    vw_errors_init(errs);
    return vw_config_load(path, errs);
}

/* Whether errs holds exactly the message printf(fmt, ...) makes. */
static bool has_error(const struct vw_errors *errs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static bool has_error(const struct vw_errors *errs, const char *fmt, ...)
{
    char want[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(want, sizeof want, fmt, ap);
    va_end(ap);
    for (int i = 0; i < errs->count; i++)
        if (!strcmp(errs->msgs[i], want))
            return true;
    fprintf(stderr, "  no error \"%s\" among %d:\n", want, errs->count);
    for (int i = 0; i < errs->count; i++)
        fprintf(stderr, "    %s\n", errs->msgs[i]);
    return false;
}

#define WALL_2X2 \
    "wall = { screen = { width = 640; height = 360; }; grid = { columns = 2; rows = 2; }; };\n"
#define ONE_SCENE(src) \
    "scenes = ( { id = \"s\"; tiles = ( { source = \"" src "\"; rect = [0, 0, 1, 1]; } ); } );\n"

static void test_utf8(void)
{
    size_t bad = 99;
    CHECK(vw_utf8_valid("", 0, &bad), "empty");
    CHECK(vw_utf8_valid("plain ascii, long enough for the fast path", 43, &bad), "ascii");
    CHECK(vw_utf8_valid_str("乡镇/王口镇 北门 €𝄞", &bad), "chinese, euro, U+1D11E");
    CHECK(vw_utf8_valid_str("\xF4\x8F\xBF\xBF", &bad), "U+10FFFF is the last");
    CHECK(vw_utf8_valid_str("\xED\x9F\xBF", &bad), "U+D7FF is before the surrogates");
    struct {
        const char *s;
        size_t at;
    } bads[] = {
        {"ab\xB1\xB1", 2},       /* GBK 北: a continuation byte as a lead */
        {"x\xCD\xF5y", 1},       /* GBK 王: a lead without its continuation */
        {"\xC0\xAF", 0},         /* overlong '/' */
        {"\xC1\xBF", 0},         /* overlong */
        {"\xE0\x80\xAF", 0},     /* overlong, 3 bytes */
        {"\xF0\x80\x80\xAF", 0}, /* overlong, 4 bytes */
        {"ok\xED\xA0\x80", 2},   /* U+D800, a surrogate */
        {"\xED\xBF\xBF", 0},     /* U+DFFF */
        {"\xF4\x90\x80\x80", 0}, /* U+110000 */
        {"\xF5\x80\x80\x80", 0}, /* no such lead */
        {"\xFF", 0},             /* never in UTF-8 */
        {"abcdefgh\xE4\xB8", 8}, /* cut short at the end, after the fast path */
        {"\xE4\xB8\x41", 0},     /* continuation missing */
    };
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        bad = 99;
        CHECK(!vw_utf8_valid(bads[i].s, strlen(bads[i].s), &bad), "bad case %zu passed", i);
        CHECK(bad == bads[i].at, "bad case %zu: at %zu, want %zu", i, bad, bads[i].at);
    }
    CHECK(vw_utf8_valid("a\0b", 3, NULL), "NUL is U+0000");
    CHECK(vw_utf8_bom("\xEF\xBB\xBFwall", 7) == 3, "BOM");
    CHECK(vw_utf8_bom("\xEF\xBB", 2) == 0, "half a BOM");
    CHECK(vw_utf8_bom("wall", 4) == 0, "no BOM");
}

static void test_strmap(void)
{
    struct vw_strmap *m = vw_strmap_create(0);
    char keys[3000][16];
    for (int i = 0; i < 3000; i++) {
        snprintf(keys[i], sizeof keys[i], "cam%05d", i);
        CHECK(vw_strmap_put(m, keys[i], i) == -1, "new key %d", i);
    }
    CHECK(vw_strmap_count(m) == 3000, "count %zu", vw_strmap_count(m));
    int wrong = 0;
    for (int i = 0; i < 3000; i++)
        wrong += vw_strmap_get(m, keys[i]) != i;
    CHECK_INT(wrong, 0);
    CHECK_INT(vw_strmap_put(m, "cam00042", 7), 42); /* already there: keeps its value */
    CHECK_INT(vw_strmap_get(m, "cam00042"), 42);
    CHECK_INT(vw_strmap_get(m, "cam99999"), -1);
    CHECK_INT(vw_strmap_get(m, ""), -1);
    CHECK_INT(vw_strmap_get(NULL, "x"), -1);
    vw_strmap_destroy(m);
    vw_strmap_destroy(NULL);
}

static void test_catalog(void)
{
    char sub[128];
    snprintf(sub, sizeof sub, "%s/cat", tmpdir);
    mkdir(sub, 0700);
    /* BOM, CRLF, a comment, blank lines, quoting, an extra column, columns in another
     * order, a relative file URL (resolved against the wall file's folder). */
    write_file("cat/cams.csv",
               "\xEF\xBB\xBF# exported 2026-12-01\r\n"
               "\r\n"
               "Name,ID,group,url,substream,vendor\r\n"
               "北门,north,乡镇/王口镇,rtsp://192.0.2.1/n,rtsp://192.0.2.1/n2,HIK\r\n"
               "\"Gate, \"\"east\"\"\",east,,clips/e.mp4,,DH\r\n"
               "  ,  lobby  , 城区/华康街道 ,lobby.mp4,,x\r\n"
               "   \r\n"
               "# a comment between rows\r\n");
    struct vw_errors errs;
    struct vw_config *cfg = load_with(
        "cat/wall.cfg",
        WALL_2X2 "sources = ( { id = \"a\"; url = \"a.mp4\"; group = \"城区/华康街道\"; } );\n"
                 "catalog = [\"cams.csv\"];\n" ONE_SCENE("east"),
        &errs);
    CHECK(cfg != NULL, "catalog wall: %s", vw_errors_first(&errs));
    if (cfg) {
        CHECK_INT(cfg->source_count, 4);
        CHECK_INT(cfg->catalog_count, 1);
        char want[256];
        snprintf(want, sizeof want, "%s/cams.csv", sub);
        CHECK_STR(cfg->catalogs[0], want);
        const struct vw_source_cfg *a = &cfg->sources[0], *n = &cfg->sources[1],
                                   *e = &cfg->sources[2], *l = &cfg->sources[3];
        CHECK_STR(a->group, "城区/华康街道");
        CHECK_STR(n->id, "north");
        CHECK_STR(n->name, "北门");
        CHECK_STR(n->url, "rtsp://192.0.2.1/n");
        CHECK_STR(n->substream, "rtsp://192.0.2.1/n2");
        CHECK_STR(n->group, "乡镇/王口镇");
        CHECK_INT(n->line, 4);
        CHECK_STR(e->id, "east");
        CHECK_STR(e->name, "Gate, \"east\"");
        snprintf(want, sizeof want, "%s/clips/e.mp4", sub);
        CHECK_STR(e->url, want);
        CHECK(e->substream == NULL && e->group == NULL, "empty fields are none");
        CHECK_STR(l->id, "lobby");
        CHECK_STR(l->name, "lobby"); /* empty name: the id */
        CHECK_STR(l->group, "城区/华康街道");
        /* The same defaults as a `sources` entry. */
        CHECK_NUM(e->stall_timeout, 3);
        CHECK_NUM(e->linger, 10);
        CHECK_STR(e->transport, "tcp");
        CHECK(!e->loop && !e->warm, "loop, warm");
        CHECK_INT(vw_config_find_source(cfg, "east"), 2);
        CHECK_INT(cfg->scenes[0].tiles[0].source, 2);
        CHECK(cfg->sources[0].group && !cfg->state_dir, "state_dir unset");
    }
    vw_config_destroy(cfg);
    vw_errors_finish(&errs);

    /* Without `sources`, a catalog is enough; with neither, `sources` is missing. */
    write_file("only.csv", "id,url\nx,rtsp://192.0.2.9/x\n");
    cfg = load_with("only.cfg", WALL_2X2 "catalog = [\"only.csv\"];\n" ONE_SCENE("x"), &errs);
    CHECK(cfg && cfg->source_count == 1, "catalog only: %s", vw_errors_first(&errs));
    CHECK(cfg && cfg->sources[0].name && !strcmp(cfg->sources[0].name, "x"), "name is id");
    vw_config_destroy(cfg);
    vw_errors_finish(&errs);

    /* Every broken row is reported with the catalog's path and the row's line; reading
     * goes on. Duplicates name the other place: another file, or the same file's line. */
    write_file("bad.csv", "id,name,url,group\n"
                          "a,dup of the wall file's,rtsp://h/a,\n"
                          "b,fine,rtsp://h/b,\n"
                          "c,\"no, comma\",rtsp://h/c,g\n"
                          "d,a,comma,unquoted,rtsp://h/d,\n"
                          "b,twice,rtsp://h/b2,\n"
                          ",no id,rtsp://h/e,\n"
                          "f,no url,,\n"
                          "g,bad group,rtsp://h/g,乡镇//王口镇\n"
                          "h,\"two\nlines\",rtsp://h/h,\n"
                          "i,\"closed\" junk,rtsp://h/i,\n"
                          "j,fine,rtsp://h/j,\n"
                          "k,\"never closed,rtsp://h/k,\n");
    cfg = load_with("bad-cat.cfg",
                    WALL_2X2 "sources = ( { id = \"a\"; url = \"a.mp4\"; } );\n"
                             "catalog = [\"bad.csv\", \"missing.csv\"];\n" ONE_SCENE("j"),
                    &errs);
    CHECK(cfg == NULL, "broken catalog loaded");
    CHECK(has_error(&errs, "%s/bad.csv:2: duplicate source id 'a' (first at %s/bad-cat.cfg:2)",
                    tmpdir, tmpdir),
          "dup of the wall file");
    CHECK(
        has_error(
            &errs,
            "%s/bad.csv:5: 6 fields where the header has 4 (a field with a comma needs quotes: \"a, b\")",
            tmpdir),
        "field count");
    CHECK(has_error(&errs, "%s/bad.csv:6: duplicate source id 'b' (first at line 3)", tmpdir),
          "dup in the catalog");
    CHECK(has_error(&errs, "%s/bad.csv:7: id: expected a non-empty id", tmpdir), "no id");
    CHECK(has_error(&errs, "%s/bad.csv:8: url: expected a non-empty url for 'f'", tmpdir),
          "no url");
    CHECK(
        has_error(
            &errs,
            "%s/bad.csv:9: group: expected names separated by '/' (\"乡镇/王口镇\"), none empty, got \"乡镇//王口镇\"",
            tmpdir),
        "group");
    CHECK(has_error(&errs,
                    "%s/bad.csv:10: name: a control character (a line break in quotes?) in 'h'",
                    tmpdir),
          "line break in a name");
    CHECK(has_error(
              &errs,
              "%s/bad.csv:12: text after a closing quote (a quote inside a field is written \"\")",
              tmpdir),
          "junk after a quote");
    CHECK(has_error(&errs, "%s/bad.csv:14: a quoted field is not closed (a \" without its pair)",
                    tmpdir),
          "unclosed quote");
    CHECK(
        has_error(
            &errs,
            "%s/missing.csv: cannot open: No such file or directory (catalog[1] at %s/bad-cat.cfg:3)",
            tmpdir, tmpdir),
        "missing catalog");
    CHECK_INT(errs.count, 10);
    vw_errors_finish(&errs);

    /* A header without the url column; an empty file; a duplicate of a catalog id in the
     * wall file's own sources (the catalog comes after them, so the catalog row is the
     * duplicate, pointing at the wall file). */
    write_file("nourl.csv", "id,name\na,b\n");
    write_file("empty.csv", "# nothing\n\n");
    cfg = load_with("hdr.cfg",
                    WALL_2X2 "catalog = [\"nourl.csv\", \"empty.csv\", \"\"];\n" ONE_SCENE("a"),
                    &errs);
    CHECK(cfg == NULL, "bad headers loaded");
    CHECK(
        has_error(
            &errs,
            "%s/nourl.csv:1: the header row has no 'url' column (it names the columns: id,name,url,substream,group; others are ignored)",
            tmpdir),
        "no url column");
    CHECK(has_error(
              &errs,
              "%s/empty.csv:1: no header row (expected one naming the columns: id,name,url,...)",
              tmpdir),
          "empty catalog");
    CHECK(has_error(&errs, "%s/hdr.cfg:2: catalog[2]: expected a file name, got \"\"", tmpdir),
          "empty name");
    CHECK(has_error(&errs, "%s/hdr.cfg:3: scenes[0].tiles[0].source: unknown source 'a'", tmpdir),
          "tile of an unread catalog");
    vw_errors_finish(&errs);

    /* Catalogs must be UTF-8 too; the line is that of the first bad byte. */
    write_file("gbk.csv", "id,name,url\nok,fine,rtsp://h/ok\nn,\xB1\xB1\xC3\xC5,rtsp://h/n\n");
    cfg = load_with("gbk-cat.cfg", WALL_2X2 "catalog = [\"gbk.csv\"];\n" ONE_SCENE("ok"), &errs);
    CHECK(cfg == NULL, "GBK catalog loaded");
    CHECK(has_error(&errs, "%s/gbk.csv:3: not UTF-8 (byte 0xB1); save the file as UTF-8", tmpdir),
          "GBK catalog");
    vw_errors_finish(&errs);
}

static void test_group_key(void)
{
    struct vw_config *cfg =
        load_ok("group.cfg",
                WALL_2X2 "sources = ( { id = \"a\"; url = \"a.mp4\"; group = \"乡镇/王口镇\"; },\n"
                         "  { id = \"b\"; url = \"b.mp4\"; } );\n" ONE_SCENE("a"));
    if (cfg) {
        CHECK_STR(cfg->sources[0].group, "乡镇/王口镇");
        CHECK(cfg->sources[1].group == NULL, "no group: NULL");
    }
    vw_config_destroy(cfg);
    EXPECT_ERRORS(
        "bad-group.cfg",
        WALL_2X2 "sources = ( { id = \"a\"; url = \"a.mp4\";\n"
                 "  group = \"/乡镇\"; },\n"
                 "  { id = \"b\"; url = \"b.mp4\"; group = \"\"; } );\n" ONE_SCENE("a"),
        "3: sources[0].group: expected names separated by '/' (\"乡镇/王口镇\"), none empty, got \"/乡镇\"",
        "4: sources[1].group: expected a non-empty string, got \"\"");
}

static void test_encodings(void)
{
    /* GBK (a Chinese Windows editor's default): file, line, first bad byte. */
    EXPECT_ERRORS(
        "gbk.cfg",
        WALL_2X2
        "sources = ( { id = \"a\"; url = \"a.mp4\"; },\n"
        "  { id = \"b\"; name = \"\xB1\xB1\xC3\xC5\"; url = \"b.mp4\"; } );\n" ONE_SCENE("a"),
        "3: not UTF-8 (byte 0xB1); save the file as UTF-8");
    /* Latin-1 */
    EXPECT_ERRORS("latin1.cfg", "wall = { name = \"Caf\xE9\"; };\n",
                  "1: not UTF-8 (byte 0xE9); save the file as UTF-8");
    /* Overlong and surrogate encodings are not UTF-8 either. */
    EXPECT_ERRORS("overlong.cfg", "\n\nwall = { name = \"\xC0\xAF\"; };\n",
                  "3: not UTF-8 (byte 0xC0); save the file as UTF-8");
    EXPECT_ERRORS("surrogate.cfg", "wall = { name = \"\xED\xA0\x80\"; };\n",
                  "1: not UTF-8 (byte 0xED); save the file as UTF-8");
    /* An escape that makes a byte that is not UTF-8. */
    EXPECT_ERRORS(
        "escape.cfg",
        WALL_2X2
        "sources = ( { id = \"a\"; url = \"a.mp4\"; name = \"\\xB1\"; } );\n" ONE_SCENE("a"),
        "2: sources[0].name: not UTF-8 (byte 0xB1, written as an escape); write the text as UTF-8");
    /* A BOM is skipped (libconfig alone reads it as a syntax error), and lines still count. */
    struct vw_config *cfg = load_ok(
        "bom.cfg",
        "\xEF\xBB\xBF" WALL_2X2
        "sources = ( { id = \"a\"; url = \"a.mp4\"; name = \"北门\"; } );\n" ONE_SCENE("a"));
    if (cfg) {
        CHECK_STR(cfg->sources[0].name, "北门");
        CHECK_INT(cfg->sources[0].line, 2);
    }
    vw_config_destroy(cfg);
    EXPECT_ERRORS("bom-err.cfg", "\xEF\xBB\xBFwall = { colour = 1; };\n",
                  " missing key 'sources' at top level", " missing key 'scenes' at top level",
                  "1: unknown key 'colour' in wall", "1: missing key 'screen' in wall",
                  "1: missing key 'grid' in wall");
}

static void test_includes(void)
{
    /* Included files: a BOM is fine; their settings' errors name the included file and its
     * own line; their bytes count in the hash. */
    write_file("inc-src.cfg", "\xEF\xBB\xBF// cameras\n"
                              "sources = ( { id = \"a\"; url = \"a.mp4\"; },\n"
                              "  { id = \"b\"; url = \"b.mp4\"; stall_timeout = 1e308; } );\n");
    struct vw_errors errs;
    struct vw_config *cfg =
        load_with("inc.cfg", WALL_2X2 "@include \"inc-src.cfg\"\n" ONE_SCENE("a"), &errs);
    CHECK(cfg == NULL, "include with a bad value loaded");
    CHECK(has_error(
              &errs,
              "%s/inc-src.cfg:3: sources[1].stall_timeout = 1e308 is out of range (0.5 to 3600 s)",
              tmpdir),
          "error in an include");
    CHECK_INT(errs.count, 1);
    vw_errors_finish(&errs);

    write_file("inc-src.cfg", "\xEF\xBB\xBF// cameras\n"
                              "sources = ( { id = \"a\"; url = \"a.mp4\"; name = \"北门\"; },\n"
                              "  { id = \"b\"; url = \"b.mp4\"; } );\n");
    cfg = load_ok("inc.cfg", WALL_2X2 "/* @include \"nothing.cfg\" is a comment\n"
                                      "@include \"nothing.cfg\" */\n"
                                      "@include \"inc-src.cfg\"\n" ONE_SCENE("b"));
    char hash1[17] = "";
    if (cfg) {
        CHECK_INT(cfg->source_count, 2);
        CHECK_STR(cfg->sources[0].name, "北门");
        CHECK_INT(cfg->scenes[0].tiles[0].source, 1);
        CHECK(strlen(cfg->hash) == 16 && strspn(cfg->hash, "0123456789abcdef") == 16, "hash %s",
              cfg->hash);
        memcpy(hash1, cfg->hash, sizeof hash1);
    }
    vw_config_destroy(cfg);
    /* The same files: the same hash. One byte changed in the include: another. */
    cfg = load_ok("inc.cfg", WALL_2X2 "/* @include \"nothing.cfg\" is a comment\n"
                                      "@include \"nothing.cfg\" */\n"
                                      "@include \"inc-src.cfg\"\n" ONE_SCENE("b"));
    CHECK(cfg && !strcmp(cfg->hash, hash1), "same files, hash %s vs %s", cfg ? cfg->hash : "-",
          hash1);
    vw_config_destroy(cfg);
    write_file("inc-src.cfg", "\xEF\xBB\xBF// cameras\n"
                              "sources = ( { id = \"a\"; url = \"a.mp4\"; name = \"北门\"; },\n"
                              "  { id = \"b\"; url = \"c.mp4\"; } );\n");
    cfg = load_ok("inc.cfg", WALL_2X2 "/* @include \"nothing.cfg\" is a comment\n"
                                      "@include \"nothing.cfg\" */\n"
                                      "@include \"inc-src.cfg\"\n" ONE_SCENE("b"));
    CHECK(cfg && strcmp(cfg->hash, hash1), "include changed, hash %s unchanged", hash1);
    vw_config_destroy(cfg);

    /* An include that is not UTF-8, one that is missing, one that is a FIFO (refused, never
     * waited on), a syntax error inside one, an include loop. */
    char fifo[256];
    snprintf(fifo, sizeof fifo, "%s/inc-fifo", tmpdir);
    CHECK(mkfifo(fifo, 0600) == 0, "mkfifo: %s", strerror(errno));
    write_file("inc-gbk.cfg", "\n\nx = \"\xB1\xB1\";\n");
    cfg = load_with("inc-bad.cfg",
                    WALL_2X2
                    "@include \"inc-gbk.cfg\"\n@include \"inc-none.cfg\"\n@include \"inc-fifo\"\n",
                    &errs);
    CHECK(cfg == NULL, "bad includes loaded");
    CHECK(
        has_error(&errs, "%s/inc-gbk.cfg:3: not UTF-8 (byte 0xB1); save the file as UTF-8", tmpdir),
        "GBK include");
    CHECK(
        has_error(
            &errs,
            "%s/inc-none.cfg: cannot open: No such file or directory (@include at %s/inc-bad.cfg:3)",
            tmpdir, tmpdir),
        "missing include");
    CHECK(has_error(&errs,
                    "%s/inc-fifo: cannot open: not a regular file (@include at %s/inc-bad.cfg:4)",
                    tmpdir, tmpdir),
          "FIFO include");
    CHECK_INT(errs.count, 3);
    vw_errors_finish(&errs);

    write_file("inc-syntax.cfg", "a = 1;\nb = ;\n");
    cfg = load_with("inc-syn.cfg", WALL_2X2 "@include \"inc-syntax.cfg\"\n", &errs);
    CHECK(has_error(&errs, "%s/inc-syntax.cfg:2: syntax error: syntax error", tmpdir),
          "syntax error in an include");
    vw_config_destroy(cfg);
    vw_errors_finish(&errs);

    write_file("loop.cfg", "@include \"loop.cfg\"\n");
    cfg = load_with("loop.cfg", NULL, &errs);
    CHECK(cfg == NULL && errs.count >= 1 &&
              strstr(vw_errors_first(&errs), "nested more than 10 deep"),
          "include loop: %s", vw_errors_first(&errs));
    vw_errors_finish(&errs);
}

static void test_not_regular(void)
{
    /* A wall file that is a FIFO fails at once (the ctest timeout catches a hang). */
    char fifo[256];
    snprintf(fifo, sizeof fifo, "%s/wall-fifo", tmpdir);
    CHECK(mkfifo(fifo, 0600) == 0, "mkfifo: %s", strerror(errno));
    expect_errors_at(__LINE__, fifo,
                     (const char *const[]){" cannot open: not a regular file", NULL});
    /* A character device too. */
    expect_errors_at(__LINE__, "/dev/zero",
                     (const char *const[]){" cannot open: not a regular file", NULL});
}

static void test_ranges(void)
{
    /* The value as written: 1e308 stays 1e308, a 64-bit integer shows every digit, hex
     * stays hex; array elements show their value, integers as integers. */
    EXPECT_ERRORS("huge.cfg",
                  WALL_2X2
                  "sources = ( { id = \"a\"; url = \"a.mp4\";\n"
                  "  stall_timeout = 1e308;\n"
                  "  linger = 9223372036854775807L; substream_ratio = 0.25; },\n"
                  "  { id = \"b\"; url = \"b.mp4\"; stall_timeout: 0.1; linger = 1e999; } );\n"
                  "scenes = ( { id = \"s\"; grid = [2, 100000];\n"
                  "  tiles = ( { source = \"a\"; rect = [0.0, 0.0, 1e308, 1.0]; } ); } );\n",
                  "3: sources[0].stall_timeout = 1e308 is out of range (0.5 to 3600 s)",
                  "4: sources[0].linger = 9223372036854775807L is out of range (0 to 86400 s)",
                  "4: sources[0].substream_ratio = 0.25 is out of range (1 to 1000000)",
                  "5: sources[1].stall_timeout = 0.1 is out of range (0.5 to 3600 s)",
                  "5: sources[1].linger = 1e999 is out of range (0 to 86400 s)",
                  "6: scenes[0].grid[1] = 100000 is out of range (1 to 64)",
                  "7: scenes[0].tiles[0].rect[2] = 1e+308 is out of range (-64 to 64)");
    EXPECT_ERRORS(
        "hex.cfg",
        "wall = { screen = { width = 0x7FFFFFFFFFFFFFFFL; height = 360; }; grid = { columns = 2; rows = 2; }; label_size = 4096; };\n"
        "sources = ( { id = \"a\"; url = \"a.mp4\"; } );\n" ONE_SCENE("a"),
        "1: wall.screen.width = 0x7FFFFFFFFFFFFFFFL is out of range (16 to 16384 px)",
        "1: wall.label_size = 4096 is out of range (4 to 1024 px)");
    /* The bounds themselves are in range. */
    struct vw_config *cfg = load_ok(
        "bounds.cfg", WALL_2X2
        "sources = ( { id = \"a\"; url = \"a.mp4\"; stall_timeout = 0.5; linger = 86400; },\n"
        "  { id = \"b\"; url = \"b.mp4\"; stall_timeout = 3600; linger = 0; } );\n" ONE_SCENE("a"));
    if (cfg) {
        CHECK_NUM(cfg->sources[0].stall_timeout, 0.5);
        CHECK_NUM(cfg->sources[1].stall_timeout, 3600);
        CHECK_NUM(cfg->sources[0].linger, 86400);
    }
    vw_config_destroy(cfg);
}

static void test_new_keys(void)
{
    struct vw_config *cfg = load_ok(
        "keys.cfg",
        "wall = { screen = { width = 640; height = 360; }; grid = { columns = 2; rows = 2; };\n"
        "  state_dir = \"state\"; };\n"
        "sources = ( { id = \"a\"; url = \"a.mp4\"; } );\n" ONE_SCENE(
            "a") "control = { token = \"admin-secret\";\n"
                 "  seats = ( { name = \"operator-1\"; token = \"t1\"; role = \"operate\"; },\n"
                 "            { name = \"值班长\"; token = \"t2\"; role = \"admin\"; },\n"
                 "            { name = \"screen\"; token = \"t3\"; role = \"view\"; } ); };\n");
    if (cfg) {
        char want[256];
        snprintf(want, sizeof want, "%s/state", tmpdir);
        CHECK_STR(cfg->state_dir, want);
        CHECK_INT(cfg->control.seat_count, 3);
        CHECK_STR(cfg->control.token, "admin-secret");
        if (cfg->control.seat_count == 3) {
            const struct vw_seat_cfg *s = cfg->control.seats;
            CHECK_STR(s[0].name, "operator-1");
            CHECK_STR(s[0].token, "t1");
            CHECK(s[0].role == VW_ROLE_OPERATE, "role %d", s[0].role);
            CHECK_INT(s[0].line, 6);
            CHECK_STR(s[1].name, "值班长");
            CHECK(s[1].role == VW_ROLE_ADMIN, "role %d", s[1].role);
            CHECK(s[2].role == VW_ROLE_VIEW, "role %d", s[2].role);
        }
    }
    vw_config_destroy(cfg);
    cfg = load_ok("no-seats.cfg",
                  WALL_2X2 "sources = ( { id = \"a\"; url = \"a.mp4\"; } );\n" ONE_SCENE("a"));
    CHECK(cfg && cfg->control.seat_count == 0 && !cfg->control.seats && !cfg->state_dir,
          "no seats, no state_dir");
    vw_config_destroy(cfg);

    EXPECT_ERRORS(
        "seats.cfg",
        WALL_2X2 "sources = ( { id = \"a\"; url = \"a.mp4\"; } );\n" ONE_SCENE(
            "a") "control = { token = \"t0\"; seats = (\n"
                 "  { name = \"op\"; token = \"t1\"; role = \"operate\"; },\n"
                 "  { name = \"op\"; token = \"t1\"; role = \"root\"; },\n"
                 "  { name = \"\"; token = \"t0\"; role = \"view\"; },\n"
                 "  { name = \"x\"; role = \"view\"; },\n"
                 "  \"y\" ); };\n"
                 "wall2 = 1;\n",
        "6: control.seats[1].role: expected one of \"view\", \"operate\", \"admin\", got \"root\"",
        "6: control.seats[1].name: duplicate seat name 'op' (first at line 5)",
        "6: control.seats[1].token: the same token as seat 'op' (line 5); each seat needs its own",
        "7: control.seats[2].name: expected a non-empty string, got \"\"",
        "7: control.seats[2].token: the same token as control.token; each seat needs its own",
        "8: missing key 'token' in control.seats[3]",
        "9: control.seats[4]: expected a group { name = \"...\"; token = \"...\"; role = \"view\" | \"operate\" | \"admin\"; }",
        "10: unknown key 'wall2' at top level");
    EXPECT_ERRORS(
        "state.cfg",
        "wall = { screen = { width = 640; height = 360; }; grid = { columns = 2; rows = 2; }; state_dir = \"\"; };\n"
        "sources = ( { id = \"a\"; url = \"a.mp4\"; } );\n" ONE_SCENE("a"),
        "1: wall.state_dir: expected a non-empty string, got \"\"");
}

/* 20,000 cameras in a catalog, plus 20,000 in the wall file's own list: every id found by
 * its hash, a duplicate at the very end found and named. */
static void test_scale(void)
{
    size_t cap = 20000 * 96 + 64, n = 0;
    char *csv = malloc(cap);
    n += (size_t)snprintf(csv + n, cap - n, "id,name,url,substream,group\n");
    for (int i = 0; i < 20000; i++)
        n += (size_t)snprintf(
            csv + n, cap - n,
            "cam%05d,王口镇 摄像机 %d,rtsp://127.0.0.1:8554/cam%05d,,乡镇/王口镇\n", i, i, i);
    write_file("big.csv", csv);
    size_t lcap = 20000 * 64 + 64, ln = 0;
    char *list = malloc(lcap);
    ln += (size_t)snprintf(list + ln, lcap - ln, "sources = (\n");
    for (int i = 0; i < 20000; i++)
        ln +=
            (size_t)snprintf(list + ln, lcap - ln, "%s{ id = \"s%05d\"; url = \"rtsp://h/%d\"; }\n",
                             i ? "," : "", i, i);
    snprintf(list + ln, lcap - ln, ");\n");
    write_file("big-src.cfg", list);
    struct vw_config *cfg =
        load_ok("big.cfg", WALL_2X2 "@include \"big-src.cfg\"\n"
                                    "catalog = [\"big.csv\"];\n" ONE_SCENE("cam19999"));
    if (cfg) {
        CHECK_INT(cfg->source_count, 40000);
        int wrong = 0;
        char id[32];
        for (int i = 0; i < 20000; i++) {
            snprintf(id, sizeof id, "cam%05d", i);
            wrong += vw_config_find_source(cfg, id) != 20000 + i;
            snprintf(id, sizeof id, "s%05d", i);
            wrong += vw_config_find_source(cfg, id) != i;
        }
        CHECK_INT(wrong, 0);
        CHECK_INT(vw_config_find_source(cfg, "cam20000"), -1);
        CHECK_INT(vw_config_find_scene(cfg, "s"), 0);
        CHECK_INT(vw_config_find_scene(cfg, "nope"), -1);
    }
    vw_config_destroy(cfg);
    /* A duplicate of the first source, at the end. */
    snprintf(csv + n, cap - n, "s00000,dup,rtsp://h/dup,,\n");
    write_file("big.csv", csv);
    struct vw_errors errs;
    cfg = load_with("big.cfg", NULL, &errs);
    CHECK(cfg == NULL, "duplicate among 40,000 loaded");
    CHECK(has_error(&errs,
                    "%s/big.csv:20002: duplicate source id 's00000' (first at %s/big-src.cfg:2)",
                    tmpdir, tmpdir),
          "the duplicate");
    CHECK_INT(errs.count, 1);
    vw_errors_finish(&errs);
    free(csv);
    free(list);
}

/* vw_config_load on four threads at once, over the same files: each gets its own, equal
 * model (run under TSan in CI to see that nothing is shared). */
struct load_job {
    const char *path;
    int sources;
    char hash[17];
};

static void *load_thread(void *arg)
{
    struct load_job *job = arg;
    for (int k = 0; k < 5; k++) {
        struct vw_errors errs;
        vw_errors_init(&errs);
        struct vw_config *cfg = vw_config_load(job->path, &errs);
        job->sources = cfg ? cfg->source_count : -1;
        if (cfg)
            memcpy(job->hash, cfg->hash, sizeof job->hash);
        vw_config_destroy(cfg);
        vw_errors_finish(&errs);
    }
    return NULL;
}

static void test_threads(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s/big.cfg", tmpdir);
    /* big.csv from test_scale has a duplicate now: restore a clean one. */
    write_file("big.csv", "id,url\nx,rtsp://h/x\ncam19999,rtsp://h/y\n");
    struct load_job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct load_job){.path = path};
        CHECK(pthread_create(&th[i], NULL, load_thread, &jobs[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        CHECK_INT(jobs[i].sources, 20002);
        CHECK_STR(jobs[i].hash, jobs[0].hash);
    }
}

static void remove_tree(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_config: could not remove %s\n", dir);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vwall-test-config-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("test_config: mkdtemp");
        return 2;
    }
    test_full();
    test_defaults();
    test_relative_paths();
    test_appends();
    test_file_errors();
    test_wall_errors();
    test_source_errors();
    test_scene_errors();
    test_tile_errors();
    test_control_errors();
    test_cluster();
    test_many_errors();
    test_layouts();
    test_bad_check_file();
    test_utf8();
    test_strmap();
    test_catalog();
    test_group_key();
    test_encodings();
    test_includes();
    test_not_regular();
    test_ranges();
    test_new_keys();
    test_scale();
    test_threads();
    remove_tree(tmpdir);
    printf("test_config: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
