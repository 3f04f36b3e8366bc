/* vwall: command-line entry. Wires the modules: wall file → wall → control socket. */
#include <SDL.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/config.h"
#include "console/console.h"
#include "control/control.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/service.h"
#include "base/timeutil.h"
#include "base/version.h"
#include "feeds/source.h"
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
        "      --node ID          render cluster node ID's panels, sharing the wall's state with\n"
        "                         the other nodes over NATS (the wall file's cluster group)\n"
        "      --frame-log FILE   write a CSV line per tile per redraw (present_us, node, tile,\n"
        "                         source, capture_us) for measuring\n"
        "      --control EP       control socket endpoint unix:PATH or tcp:HOST:PORT (repeatable;\n"
        "                         default: the wall file's control.listen, else\n"
        "                         unix:$XDG_RUNTIME_DIR/vwall.sock, or as a systemd service\n"
        "                         unix:$RUNTIME_DIRECTORY/NAME.sock for NAME.cfg); --control\n"
        "                         none disables it\n"
        "      --http HOST:PORT   serve the operator console in a browser (default: the wall\n"
        "                         file's control.http, else off)\n"
        "      --no-connect       open no source: preview the layout with every tile's slate\n"
        "      --state-file FILE  where the scene state (incidents, picks, saved scenes) is kept\n"
        "                         (default: wall.state_dir, else $STATE_DIRECTORY,\n"
        "                         $XDG_STATE_HOME/vwall, ~/.local/state/vwall or /var/lib/vwall,\n"
        "                         named after the wall file); none: not kept\n"
        "      --duration SEC     run this long, then exit (benchmarks, soak tests)\n"
        "      --stats FILE       on exit, write status and sources as JSON to FILE\n"
        "      --max-fps N        render at most N frames a second (default 60)\n"
        "      --vsync            wait for the display's vertical blank\n"
        "      --shaders DIR      GLSL folder (default: the installed share/vwall/shaders,\n"
        "                         or the source tree's shaders/ when run from its build)\n"
        "      --compose MODE     who scales and converts the pictures: gpu (shaders), cpu\n"
        "                         (SIMD code on the CPU), or auto (default: cpu on software\n"
        "                         GL, else gpu)\n"
        "      --present MODE     how a window gets the finished wall: gl (a GL copy and\n"
        "                         swap), or auto (default: the window's surface on x11\n"
        "                         with --compose cpu, else gl)\n"
        "  -v, --verbose          debug logging\n"
        "  -V, --version          print the version and exit\n"
        "  -h, --help             this text\n");
}

/* A numeric option: the whole argument a finite number in lo..hi, else false (and a message
 * naming the option on stderr). */
static bool parse_number(const char *opt, const char *arg, double lo, double hi, const char *unit,
                         double *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (end == arg || *end != '\0' || errno == ERANGE || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "vwall: %s %s: expected a number from %.15g to %.15g%s%s\n", opt, arg, lo,
                hi, unit ? " " : "", unit ? unit : "");
        return false;
    }
    *out = v;
    return true;
}

static void print_errors(const struct vw_errors *errs)
{
    for (int i = 0; i < errs->count; i++)
        fprintf(stderr, "%s%s\n", vw_log_prefix(VW_LOG_ERROR), errs->msgs[i]);
}

/* The installed data folder (shaders/, layouts/, assets/): ../share/vwall from the folder
 * holding this executable, as `cmake --install` lays it out, wherever the prefix is; or
 * NULL when this vwall runs from its build tree (then the source tree's are used). */
static const char *installed_data_dir(char *buf, size_t cap)
{
#ifdef VWALL_DATA_FROM_BIN
    char exe[PATH_MAX], dir[PATH_MAX + 64], probe[PATH_MAX + 96];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    snprintf(dir, sizeof dir, "%s/%s", exe, VWALL_DATA_FROM_BIN);
    snprintf(probe, sizeof probe, "%s/shaders/tile.vert", dir);
    char real[PATH_MAX];
    if (access(probe, R_OK) != 0 || !realpath(dir, real))
        return NULL;
    snprintf(buf, cap, "%s", real);
    return buf;
#else
    (void)buf;
    (void)cap;
    return NULL;
#endif
}

/* The name of a wall file without its folder and ".cfg": /etc/vwall/district.cfg → district */
static void wall_name(const char *path, char *buf, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, base, n);
    buf[n] = '\0';
    if (n > 4 && strcmp(buf + n - 4, ".cfg") == 0)
        buf[n - 4] = '\0';
}

/* Tells the service manager what the loop sees (main.c is the one who reads the wall). */
static void service_turn(struct vw_service *svc, const struct vw_wall *w)
{
    if (!vw_service_active(svc))
        return;
    struct vw_service_view v = {
        .frames_drawn = vw_wall_frames_rendered(w),
        .wants_redraw = vw_wall_wants_redraw(w),
        .scene = vw_wall_showing(w),
    };
    vw_wall_live_sources(w, &v.cameras_live, &v.cameras);
    vw_service_loop(svc, &v);
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
    cJSON_AddItemToObject(o, "sources", vw_wall_sources_json(w, NULL, NULL));
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
        if (vw_wall_all_tiles_settled(w)) {
            /* Let the newest frames land once more so every tile is current. */
            if (!complete_at)
                complete_at = vw_now_us();
            else if (vw_now_us() - complete_at > 100000)
                break;
        }
        SDL_Delay(5);
    }
    if (timeout > 0 && !vw_wall_all_tiles_have_pictures(w)) {
        /* Say which cameras are missing, and whether waiting longer could have helped. */
        struct vw_source_query q = {.states = 1u << VW_SOURCE_OFFLINE, .limit = 20};
        cJSON *off = vw_wall_sources_json(w, &q, NULL), *s;
        cJSON_ArrayForEach(s, off)
        {
            const cJSON *err = cJSON_GetObjectItemCaseSensitive(s, "error");
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "shown")))
                vw_warn("screenshot: camera '%s' is offline (%s); its tile shows its slate",
                        cJSON_GetObjectItemCaseSensitive(s, "id")->valuestring,
                        cJSON_IsString(err) ? err->valuestring : "no error text");
        }
        cJSON_Delete(off);
        if (!vw_wall_all_tiles_settled(w))
            vw_warn("screenshot: %.0f s passed and some tiles still have no picture; writing "
                    "what shows",
                    timeout);
    }
    struct vw_errors errs;
    vw_errors_init(&errs);
    bool ok = vw_wall_screenshot(w, path, &errs);
    print_errors(&errs);
    vw_errors_finish(&errs);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL, *screenshot = NULL, *stats = NULL, *http = NULL;
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
        O_NOCONNECT,
        O_STATEFILE,
        O_HTTP,
        O_NODE,
        O_FRAMELOG
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
        {"state-file", required_argument, NULL, O_STATEFILE},
        {"http", required_argument, NULL, O_HTTP},
        {"node", required_argument, NULL, O_NODE},
        {"frame-log", required_argument, NULL, O_FRAMELOG},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "c:vVh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': config_path = optarg; break;
        case O_CHECK: check = true; break;
        case O_SCENE: opt.scene = optarg; break;
        case O_SHOT: screenshot = optarg; break;
        case O_TIMEOUT:
            if (!parse_number("--timeout", optarg, 0, 86400, "s", &timeout))
                return 2;
            break;
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
        case O_DURATION:
            if (!parse_number("--duration", optarg, 0, 31536000, "s", &duration))
                return 2;
            break;
        case O_STATS: stats = optarg; break;
        case O_MAXFPS:
            if (!parse_number("--max-fps", optarg, 1, 1000, NULL, &opt.max_fps))
                return 2;
            break;
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
        case O_STATEFILE: opt.state_file = strcmp(optarg, "none") == 0 ? "" : optarg; break;
        case O_HTTP: http = optarg; break;
        case O_NODE: opt.node = optarg; break;
        case O_FRAMELOG: opt.frame_log = optarg; break;
        case 'v': vw_log_set_level(VW_LOG_DEBUG); break;
        case 'V': printf("vwall %s\n", VWALL_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vwall: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    /* Shaders and the demo: the installed ones (share/vwall), else the source tree's. */
    char data_buf[PATH_MAX], shader_dir[PATH_MAX + 16];
    const char *data_dir = installed_data_dir(data_buf, sizeof data_buf);
    if (data_dir && !opt.shader_dir && !getenv("VWALL_SHADER_DIR")) {
        snprintf(shader_dir, sizeof shader_dir, "%s/shaders", data_dir);
        opt.shader_dir = shader_dir;
    }
    vw_debug("data from %s (shaders: %s)", data_dir ? data_dir : VWALL_SOURCE_DIR,
             opt.shader_dir
                 ? opt.shader_dir
                 : (getenv("VWALL_SHADER_DIR") ? getenv("VWALL_SHADER_DIR") : "the source tree's"));

    /* With no wall file: the built-in demo. Without a display it becomes a screenshot. */
    char demo_path[PATH_MAX + 32], demo_png[4200];
    bool demo = config_path == NULL;
    if (demo) {
        snprintf(demo_path, sizeof demo_path, "%s/layouts/demo.cfg",
                 data_dir ? data_dir : VWALL_SOURCE_DIR);
        config_path = demo_path;
        if (!screenshot && !check && opt.output != VW_OUTPUT_OFFSCREEN && !have_display()) {
            /* Installed, the demo picture goes to the current folder. */
            char dir[4096];
            snprintf(dir, sizeof dir, "%s/out", data_dir ? "." : VWALL_SOURCE_DIR);
            snprintf(demo_png, sizeof demo_png, "%s/demo.png", dir);
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
    static char node_panels[1024];
    struct vw_config *cfg = vw_config_load(config_path, &errs);
    if (!cfg) {
        print_errors(&errs);
        fprintf(stderr, "%svwall: %s: %d error%s\n", vw_log_prefix(VW_LOG_ERROR), config_path,
                errs.count, errs.count == 1 ? "" : "s");
        if (demo)
            fprintf(stderr, "vwall: the demo clips are made by scripts/make-clips.sh demo\n");
        vw_errors_finish(&errs);
        return 1;
    }
    if (opt.node) {
        int n = vw_config_find_node(cfg, opt.node);
        const char *problem = !cfg->cluster.enabled ? "the wall file has no cluster group"
                              : n < 0               ? "no such node in cluster.nodes"
                              : opt.screens ? "--screens too (a node renders its own panels)"
                                            : NULL;
        if (problem) {
            fprintf(stderr, "%svwall: --node %s: %s\n", vw_log_prefix(VW_LOG_ERROR), opt.node,
                    problem);
            vw_config_destroy(cfg);
            return 2;
        }
        snprintf(node_panels, sizeof node_panels, "%s", cfg->cluster.nodes[n].panels);
        opt.screens = node_panels; /* cfg goes to the wall, and a reload replaces it */
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
        if (!opt.state_file)
            opt.state_file = ""; /* a preview neither shows nor changes a running wall's state */
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

    /* The control sockets open before the wall starts any camera: a second vwall on a busy
     * socket stops here, having touched nothing. */
    char default_ep[4096];
    const char *const *eps = controls;
    int neps = ncontrol;
    bool explicit_eps = ncontrol > 0 || cfg->control.listen_count > 0;
    if (ncontrol == 0 && cfg->control.listen_count > 0) {
        eps = (const char *const *)cfg->control.listen;
        neps = cfg->control.listen_count;
    } else if (ncontrol == 0) {
        const char *rt = getenv("XDG_RUNTIME_DIR");
        /* A systemd service with RuntimeDirectory=vwall: /run/vwall/<wall name>.sock */
        const char *svc_dir = getenv("RUNTIME_DIRECTORY");
        if (svc_dir && *svc_dir && !strchr(svc_dir, ':')) {
            char name[256];
            wall_name(config_path, name, sizeof name);
            snprintf(default_ep, sizeof default_ep, "unix:%s/%s.sock", svc_dir, name);
        } else if (rt && *rt)
            snprintf(default_ep, sizeof default_ep, "unix:%s/vwall.sock", rt);
        else
            snprintf(default_ep, sizeof default_ep, "unix:/tmp/vwall-%u.sock", (unsigned)getuid());
        controls[0] = default_ep;
        neps = 1;
    }
    struct vw_control *ctl = NULL;
    if (!no_control && !screenshot) {
        ctl = vw_control_create(cfg, eps, neps, &errs);
        if (!ctl) {
            print_errors(&errs);
            if (explicit_eps) {
                vw_config_destroy(cfg);
                vw_errors_finish(&errs);
                return 1;
            }
            vw_warn("running without a control socket");
            vw_errors_finish(&errs);
            vw_errors_init(&errs);
        }
    }

    struct vw_wall *w = vw_wall_create(cfg, &opt, &errs);
    if (!w) {
        print_errors(&errs);
        vw_control_destroy(ctl);
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
    if (ctl)
        vw_control_attach(ctl, w);

    /* The browser console rides on the control server (with no endpoint of its own when
     * --control none). */
    const struct vw_config *c = vw_wall_config(w);
    struct vw_console *console = NULL;
    if (!http)
        http = c->control.http;
    if (http && !ctl) {
        ctl = vw_control_create(c, NULL, 0, &errs);
        if (ctl)
            vw_control_attach(ctl, w);
    }
    if (http && ctl) {
        struct vw_console_options copt = {
            .listen = http, .cert = c->control.http_cert, .key = c->control.http_key};
        console = vw_console_create(w, ctl, &copt, &errs);
        if (!console) {
            print_errors(&errs);
            vw_control_destroy(ctl);
            vw_wall_destroy(w);
            vw_errors_finish(&errs);
            return 1;
        }
    }

    vw_wall_set_events(w, ctl != NULL); /* nobody to send them to: build none */
    /* READY, STATUS and the watchdog for systemd (Type=notify), from this loop. */
    struct vw_service *svc = vw_service_create();
    double end = duration > 0 ? vw_now_s() + duration : 0;
    while (!stop_requested && vw_wall_tick(w)) {
        if (end && vw_now_s() >= end)
            break;
        service_turn(svc, w);
        int wait = vw_wall_wait_ms(w);
        int svc_wait = vw_service_wait_ms(svc);
        if (svc_wait >= 0 && svc_wait < wait)
            wait = svc_wait;
        if (ctl)
            vw_control_poll(ctl, wait, vw_wall_wake_fd(w));
        else {
            struct pollfd p = {.fd = vw_wall_wake_fd(w), .events = POLLIN};
            poll(&p, 1, wait);
        }
    }
    vw_info("stopping");
    vw_service_stopping(svc, stop_requested ? "signal" : "the wall was closed");
    vw_service_destroy(svc);
    if (stats)
        write_stats(w, stats);
    vw_console_destroy(console);
    vw_control_destroy(ctl);
    vw_wall_destroy(w);
    vw_errors_finish(&errs);
    return 0;
}
