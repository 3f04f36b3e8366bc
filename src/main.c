/* vwall: command-line entry. Wires the modules: wall file → wall → control socket. */
#include <SDL.h>
#include <cjson/cJSON.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/config.h"
#include "control/control.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "wall/wall.h"

#ifndef VWALL_SOURCE_DIR
#define VWALL_SOURCE_DIR "."
#endif

#define MAX_CONTROL 8

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *to)
{
    fprintf(
        to,
        "usage: vwall [-c WALL.cfg] [options]\n"
        "  -c, --config FILE      the wall file (default: the built-in demo, layouts/demo.cfg)\n"
        "      --check            validate the wall file and exit: 0 when good, 1 with every error\n"
        "      --scene ID         the scene to start with (default: the one marked default)\n"
        "      --screenshot PNG   render the wall without a display, write it as a PNG and exit\n"
        "      --timeout SEC      with --screenshot: wait at most this long for every tile's\n"
        "                         first frame (default 10)\n"
        "      --output MODE      window | fullscreen | displays | offscreen (default: the wall\n"
        "                         file's wall.output, else window)\n"
        "      --screens LIST     render only these panels, numbered row by row: 0-8,12\n"
        "      --control EP       control socket endpoint unix:PATH or tcp:HOST:PORT (repeatable;\n"
        "                         default: the wall file's control.listen, else\n"
        "                         unix:$XDG_RUNTIME_DIR/vwall.sock); --control none disables it\n"
        "      --no-connect       open no source: preview the layout with every tile's slate\n"
        "      --duration SEC     run this long, then exit (benchmarks, soak tests)\n"
        "      --stats FILE       on exit, write status and sources as JSON to FILE\n"
        "      --max-fps N        render at most N frames a second (default 60)\n"
        "      --vsync            wait for the display's vertical blank\n"
        "      --shaders DIR      GLSL folder (default: the source tree's shaders/)\n"
        "      --compose MODE     who scales and converts the pictures: gpu (shaders), cpu\n"
        "                         (SIMD code on the CPU), or auto (default: cpu on software\n"
        "                         GL, else gpu)\n"
        "      --present MODE     how a window gets the finished wall: gl (a GL copy and\n"
        "                         swap), or auto (default: the window's surface on x11\n"
        "                         with --compose cpu, else gl)\n"
        "  -v, --verbose          debug logging\n"
        "  -h, --help             this text\n");
}

static void print_errors(const struct vw_errors *errs)
{
    for (int i = 0; i < errs->count; i++)
        fprintf(stderr, "%s\n", errs->msgs[i]);
}

static bool parse_output(const char *s, enum vw_output_mode *out)
{
    static const struct {
        const char *name;
        enum vw_output_mode mode;
    } modes[] = {
        {"window", VW_OUTPUT_WINDOW},
        {"fullscreen", VW_OUTPUT_FULLSCREEN},
        {"displays", VW_OUTPUT_DISPLAYS},
        {"offscreen", VW_OUTPUT_OFFSCREEN},
    };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(s, modes[i].name) == 0) {
            *out = modes[i].mode;
            return true;
        }
    return false;
}

/* Whether a display server or a console for kmsdrm seems to be there. */
static bool have_display(void)
{
    const char *drv = getenv("SDL_VIDEODRIVER");
    if (drv && *drv)
        return true; /* the user chose */
    return getenv("DISPLAY") || getenv("WAYLAND_DISPLAY") ||
           access("/dev/dri/card0", R_OK | W_OK) == 0;
}

static void write_stats(struct vw_wall *w, const char *path)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "status", vw_wall_status_json(w));
    cJSON_AddItemToObject(o, "sources", vw_wall_sources_json(w));
    char *text = cJSON_Print(o);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fputc('\n', f);
        fclose(f);
    } else {
        vw_err("--stats %s: cannot write", path);
    }
    cJSON_free(text);
    cJSON_Delete(o);
}

/* --screenshot: run until every tile has a picture (or the timeout), then write the PNG. */
static int run_screenshot(struct vw_wall *w, const char *path, double timeout)
{
    double until = vw_now_s() + timeout;
    int64_t complete_at = 0;
    while (vw_now_s() < until && !stop_requested) {
        vw_wall_tick(w);
        if (vw_wall_all_tiles_have_pictures(w)) {
            /* Let the newest frames land once more so every tile is current. */
            if (!complete_at)
                complete_at = vw_now_us();
            else if (vw_now_us() - complete_at > 100000)
                break;
        }
        SDL_Delay(5);
    }
    if (timeout > 0 && !vw_wall_all_tiles_have_pictures(w))
        vw_warn(
            "screenshot: %.0f s passed and some tiles still have no picture; writing what shows",
            timeout);
    struct vw_errors errs;
    vw_errors_init(&errs);
    bool ok = vw_wall_screenshot(w, path, &errs);
    print_errors(&errs);
    vw_errors_finish(&errs);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL, *screenshot = NULL, *stats = NULL;
    const char *controls[MAX_CONTROL];
    int ncontrol = 0;
    bool check = false, no_control = false;
    double timeout = 10, duration = 0;
    struct vw_wall_options opt = {.output = VW_OUTPUT_CONFIG, .max_fps = 60};

#ifdef __GLIBC__
    /* glibc gives every thread that allocates its own arena (up to 8 per core) and keeps what
     * is freed in each: with decoder threads starting and stopping all day, RSS grew from
     * 223 to 440 MB in 10 minutes with no leak (issue 12). Two arenas keep it flat; the
     * decoders allocate little per frame (FFmpeg's buffer pools). MALLOC_ARENA_MAX or
     * GLIBC_TUNABLES=glibc.malloc.arena_max still decide when set. */
    const char *tunables = getenv("GLIBC_TUNABLES");
    if (!getenv("MALLOC_ARENA_MAX") && !(tunables && strstr(tunables, "arena_max")))
        mallopt(M_ARENA_MAX, 2);
#endif

    enum {
        O_CHECK = 256,
        O_SCENE,
        O_SHOT,
        O_TIMEOUT,
        O_OUTPUT,
        O_SCREENS,
        O_CONTROL,
        O_DURATION,
        O_STATS,
        O_MAXFPS,
        O_VSYNC,
        O_SHADERS,
        O_COMPOSE,
        O_PRESENT,
        O_NOCONNECT
    };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, O_CHECK},
        {"scene", required_argument, NULL, O_SCENE},
        {"screenshot", required_argument, NULL, O_SHOT},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"output", required_argument, NULL, O_OUTPUT},
        {"screens", required_argument, NULL, O_SCREENS},
        {"control", required_argument, NULL, O_CONTROL},
        {"duration", required_argument, NULL, O_DURATION},
        {"stats", required_argument, NULL, O_STATS},
        {"max-fps", required_argument, NULL, O_MAXFPS},
        {"vsync", no_argument, NULL, O_VSYNC},
        {"shaders", required_argument, NULL, O_SHADERS},
        {"compose", required_argument, NULL, O_COMPOSE},
        {"present", required_argument, NULL, O_PRESENT},
        {"no-connect", no_argument, NULL, O_NOCONNECT},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': config_path = optarg; break;
        case O_CHECK: check = true; break;
        case O_SCENE: opt.scene = optarg; break;
        case O_SHOT: screenshot = optarg; break;
        case O_TIMEOUT: timeout = atof(optarg); break;
        case O_OUTPUT:
            if (!parse_output(optarg, &opt.output)) {
                fprintf(stderr,
                        "vwall: --output %s: expected window, fullscreen, displays or offscreen\n",
                        optarg);
                return 2;
            }
            break;
        case O_SCREENS: opt.screens = optarg; break;
        case O_CONTROL:
            if (strcmp(optarg, "none") == 0)
                no_control = true;
            else if (ncontrol < MAX_CONTROL)
                controls[ncontrol++] = optarg;
            break;
        case O_DURATION: duration = atof(optarg); break;
        case O_STATS: stats = optarg; break;
        case O_MAXFPS: opt.max_fps = atof(optarg); break;
        case O_VSYNC: opt.vsync = true; break;
        case O_SHADERS: opt.shader_dir = optarg; break;
        case O_COMPOSE:
            if (!vw_compose_parse(optarg, &opt.compose)) {
                fprintf(stderr, "vwall: --compose %s: expected auto, gpu or cpu\n", optarg);
                return 2;
            }
            break;
        case O_PRESENT:
            if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "gl") != 0) {
                fprintf(stderr, "vwall: --present %s: expected auto or gl\n", optarg);
                return 2;
            }
            opt.present_gl = strcmp(optarg, "gl") == 0;
            break;
        case O_NOCONNECT: opt.no_connect = true; break;
        case 'v': vw_log_set_level(VW_LOG_DEBUG); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vwall: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    /* With no wall file: the built-in demo. Without a display it becomes a screenshot. */
    char demo_path[4096], demo_png[4096];
    bool demo = config_path == NULL;
    if (demo) {
        snprintf(demo_path, sizeof demo_path, "%s/layouts/demo.cfg", VWALL_SOURCE_DIR);
        config_path = demo_path;
        if (!screenshot && !check && opt.output != VW_OUTPUT_OFFSCREEN && !have_display()) {
            snprintf(demo_png, sizeof demo_png, "%s/out/demo.png", VWALL_SOURCE_DIR);
            char dir[4096];
            snprintf(dir, sizeof dir, "%s/out", VWALL_SOURCE_DIR);
            mkdir(dir, 0755);
            fprintf(stderr,
                    "vwall: no display here (no DISPLAY, WAYLAND_DISPLAY or /dev/dri/card0); "
                    "rendering the demo wall to %s instead\n",
                    demo_png);
            screenshot = demo_png;
        }
    }

    struct vw_errors errs;
    vw_errors_init(&errs);
    struct vw_config *cfg = vw_config_load(config_path, &errs);
    if (!cfg) {
        print_errors(&errs);
        fprintf(stderr, "vwall: %s: %d error%s\n", config_path, errs.count,
                errs.count == 1 ? "" : "s");
        if (demo)
            fprintf(stderr, "vwall: the demo clips are made by scripts/make-clips.sh demo\n");
        vw_errors_finish(&errs);
        return 1;
    }
    if (check) {
        printf("%s: ok (%d sources, %d scenes, %dx%d panels of %dx%d)\n", config_path,
               cfg->source_count, cfg->scene_count, cfg->columns, cfg->rows, cfg->screen_w,
               cfg->screen_h);
        vw_config_destroy(cfg);
        return 0;
    }
    if (screenshot) {
        opt.output = VW_OUTPUT_OFFSCREEN;
        no_control = true;
    }
    if (opt.output == VW_OUTPUT_OFFSCREEN)
        setenv("SDL_VIDEODRIVER", "offscreen", 0);

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
    SDL_SetHint(SDL_HINT_VIDEO_MINIMIZE_ON_FOCUS_LOSS, "0");

    struct vw_wall *w = vw_wall_create(cfg, &opt, &errs);
    if (!w) {
        print_errors(&errs);
        vw_errors_finish(&errs);
        return 1;
    }
    if (screenshot) {
        int rc = run_screenshot(w, screenshot, opt.no_connect ? 0 : timeout);
        if (stats)
            write_stats(w, stats);
        vw_wall_destroy(w);
        vw_errors_finish(&errs);
        return rc;
    }

    /* Control endpoints: --control, else the wall file's, else the per-user default. */
    const struct vw_config *c = vw_wall_config(w);
    char default_ep[4096];
    const char *const *eps = controls;
    int neps = ncontrol;
    bool explicit_eps = ncontrol > 0 || c->control.listen_count > 0;
    if (ncontrol == 0 && c->control.listen_count > 0) {
        eps = (const char *const *)c->control.listen;
        neps = c->control.listen_count;
    } else if (ncontrol == 0) {
        const char *rt = getenv("XDG_RUNTIME_DIR");
        if (rt && *rt)
            snprintf(default_ep, sizeof default_ep, "unix:%s/vwall.sock", rt);
        else
            snprintf(default_ep, sizeof default_ep, "unix:/tmp/vwall-%u.sock", (unsigned)getuid());
        controls[0] = default_ep;
        neps = 1;
    }
    struct vw_control *ctl = NULL;
    if (!no_control) {
        ctl = vw_control_create(w, eps, neps, &errs);
        if (!ctl) {
            print_errors(&errs);
            if (explicit_eps) {
                vw_wall_destroy(w);
                vw_errors_finish(&errs);
                return 1;
            }
            vw_warn("running without a control socket");
            vw_errors_finish(&errs);
            vw_errors_init(&errs);
        }
    }

    vw_wall_set_events(w, ctl != NULL); /* nobody to send them to: build none */
    double end = duration > 0 ? vw_now_s() + duration : 0;
    while (!stop_requested && vw_wall_tick(w)) {
        if (end && vw_now_s() >= end)
            break;
        int wait = vw_wall_wait_ms(w);
        if (ctl)
            vw_control_poll(ctl, wait, vw_wall_wake_fd(w));
        else {
            struct pollfd p = {.fd = vw_wall_wake_fd(w), .events = POLLIN};
            poll(&p, 1, wait);
        }
    }
    vw_info("stopping");
    if (stats)
        write_stats(w, stats);
    vw_control_destroy(ctl);
    vw_wall_destroy(w);
    vw_errors_finish(&errs);
    return 0;
}
