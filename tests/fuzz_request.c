/* fuzz_request: libFuzzer target for the control protocol's request parser and dispatcher.
 *
 * Each input is split into lines; every line goes through
 *   - vw_commands_parse (the pure parser/validator), whose result must be consistent, and
 *   - vw_commands_handle_line against a stub wall, for a trusted (Unix) and an untrusted
 *     (TCP, token set) session; every reply must be one line of valid JSON with "ok".
 * A broken invariant aborts, which libFuzzer reports as a crash.
 *
 * Built two ways (tests/cmake/control.cmake):
 *   -DVWALL_FUZZ=ON with clang: `fuzz_request`, the libFuzzer binary;
 *   always: `fuzz_request_regress`, the same file with a main (VW_FUZZ_MAIN) that runs the
 *   target over every file of the folders given (tests/fuzz-corpus), as a ctest.
 * Links only commands.c, log.c, errors.c and cJSON: the wall below is a stub. */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/commands.h"
#include "model/config.h"
#include "base/log.h"
#include "wall/wall.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* ---- a stub wall: two scenes, two sources, nothing rendered ---------------------------- */

static struct vw_tile_cfg main_tiles[2] = {{.id = "left", .source = 0}, {.id = NULL, .source = 1}};
static struct vw_scene_cfg stub_scenes[2] = {
    {.id = "main", .name = "Main 主", .tiles = main_tiles, .tile_count = 2},
    {.id = "alt", .name = "Alt", .tiles = main_tiles, .tile_count = 1},
};
static struct vw_source_cfg stub_sources[2] = {{.id = "red", .name = "red"},
                                               {.id = "green", .name = "green"}};
static struct vw_config stub_cfg = {
    .path = "stub.cfg",
    .scenes = stub_scenes,
    .scene_count = 2,
    .sources = stub_sources,
    .source_count = 2,
    .control = {.token = "tok", .screenshot_dir = "/nonexistent-vwall-fuzz-dir"},
};
static int stub_base, stub_pushed = -1;

struct vw_wall {
    int unused;
};
static struct vw_wall stub_wall;

int vw_config_find_scene(const struct vw_config *cfg, const char *id)
{
    for (int i = 0; i < cfg->scene_count; i++)
        if (strcmp(cfg->scenes[i].id, id) == 0)
            return i;
    return -1;
}

int vw_config_find_source(const struct vw_config *cfg, const char *id)
{
    for (int i = 0; i < cfg->source_count; i++)
        if (strcmp(cfg->sources[i].id, id) == 0)
            return i;
    return -1;
}

const struct vw_config *vw_wall_config(const struct vw_wall *w)
{
    return &stub_cfg;
}
static int current(void)
{
    return stub_pushed >= 0 ? stub_pushed : stub_base;
}
const char *vw_wall_showing(const struct vw_wall *w)
{
    return stub_scenes[current()].id;
}
const char *vw_wall_base(const struct vw_wall *w)
{
    return stub_scenes[stub_base].id;
}
uint64_t vw_wall_revision(const struct vw_wall *w)
{
    return 7;
}
const char *vw_wall_node(const struct vw_wall *w)
{
    return NULL; /* one box */
}
bool vw_wall_screenshot_cluster(struct vw_wall *w, const char *path, vw_shot_done_fn done, void *ud)
{
    return false;
}
struct cJSON *vw_wall_take_reload_nodes(struct vw_wall *w)
{
    return NULL;
}
uint64_t vw_wall_take_ticket(struct vw_wall *w)
{
    return 0; /* one box: every change is made at once */
}
void vw_wall_when_committed(struct vw_wall *w, uint64_t ticket, vw_commit_done_fn done,
                            void (*cancel)(void *ud), void *ud)
{
    cancel(ud);
}

static bool stub_fail(struct vw_wall_error *e, const char *code)
{
    e->code = code;
    snprintf(e->message, sizeof e->message, "stub: %s", code);
    return false;
}

bool vw_wall_switch(struct vw_wall *w, const char *scene, const char *by, struct vw_wall_error *e)
{
    int s = vw_config_find_scene(&stub_cfg, scene);
    if (s < 0)
        return stub_fail(e, "unknown_scene");
    stub_base = s;
    return true;
}

bool vw_wall_push(struct vw_wall *w, const char *scene, int priority, double ttl_s, const char *by,
                  struct vw_wall_error *e)
{
    int s = vw_config_find_scene(&stub_cfg, scene);
    if (s < 0)
        return stub_fail(e, "unknown_scene");
    stub_pushed = s;
    return true;
}

bool vw_wall_pop(struct vw_wall *w, const char *scene, const char *by, struct vw_wall_error *e)
{
    int s = vw_config_find_scene(&stub_cfg, scene);
    if (s < 0)
        return stub_fail(e, "unknown_scene");
    if (s != stub_pushed)
        return stub_fail(e, "not_pushed");
    stub_pushed = -1;
    return true;
}

bool vw_wall_clear(struct vw_wall *w, const char *by, struct vw_wall_error *e)
{
    stub_pushed = -1;
    return true;
}

static bool stub_tile(struct vw_tile_ref t, struct vw_wall_error *e)
{
    const struct vw_scene_cfg *sc = &stub_scenes[current()];
    if (t.all)
        return true;
    if (t.id) {
        for (int i = 0; i < sc->tile_count; i++)
            if (sc->tiles[i].id && strcmp(sc->tiles[i].id, t.id) == 0)
                return true;
        return stub_fail(e, "bad_tile");
    }
    return t.index >= 0 && t.index < sc->tile_count ? true : stub_fail(e, "bad_tile");
}

bool vw_wall_assign(struct vw_wall *w, struct vw_tile_ref tile, const char *source, const char *url,
                    const char *name, const char *by, struct vw_wall_error *e)
{
    if (!stub_tile(tile, e))
        return false;
    if (!source == !url)
        abort(); /* commands.c checks that exactly one is given */
    if (source && vw_config_find_source(&stub_cfg, source) < 0)
        return stub_fail(e, "unknown_source");
    return true;
}

bool vw_wall_swap(struct vw_wall *w, struct vw_tile_ref a, struct vw_tile_ref b, const char *by,
                  struct vw_wall_error *e)
{
    return stub_tile(a, e) && stub_tile(b, e);
}

bool vw_wall_reset(struct vw_wall *w, struct vw_tile_ref tile, const char *by,
                   struct vw_wall_error *e)
{
    return stub_tile(tile, e) ? stub_fail(e, "not_assigned") : false;
}

bool vw_wall_save(struct vw_wall *w, const char *scene, const char *name, const char *by,
                  struct vw_wall_error *e)
{
    return vw_config_find_scene(&stub_cfg, scene) >= 0 ? stub_fail(e, "scene_exists") : true;
}

bool vw_wall_delete(struct vw_wall *w, const char *scene, const char *by, struct vw_wall_error *e)
{
    return stub_fail(e, "not_saved");
}

bool vw_wall_reconnect(struct vw_wall *w, const char *source, const char *by,
                       struct vw_wall_error *e)
{
    return vw_config_find_source(&stub_cfg, source) < 0 ? stub_fail(e, "unknown_source") : true;
}

bool vw_wall_reload_start(struct vw_wall *w, vw_reload_done_fn done, void *ud,
                          struct vw_wall_error *e)
{
    abort(); /* the fuzzer's context has no defer: commands.c must reload synchronously */
}

bool vw_wall_reload(struct vw_wall *w, struct vw_errors *errs)
{
    vw_errors_add(errs, "stub.cfg:1: the stub never reloads");
    return false;
}

bool vw_wall_screenshot(struct vw_wall *w, const char *path, struct vw_errors *errs)
{
    if (strstr(path, "/../") || strchr(path + strlen(stub_cfg.control.screenshot_dir) + 1, '/'))
        abort(); /* a name that escapes the folder got through */
    return true;
}

cJSON *vw_wall_scenes_json(const struct vw_wall *w)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < stub_cfg.scene_count; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", stub_scenes[i].id);
        cJSON_AddStringToObject(o, "name", stub_scenes[i].name);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

cJSON *vw_wall_sources_json(const struct vw_wall *w, const struct vw_source_query *q, int *total)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < stub_cfg.source_count; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", stub_sources[i].id);
        cJSON_AddStringToObject(o, "state", "live");
        cJSON_AddItemToArray(a, o);
    }
    if (total)
        *total = stub_cfg.source_count;
    return a;
}

cJSON *vw_wall_tiles_json(const struct vw_wall *w)
{
    return cJSON_CreateArray();
}

cJSON *vw_wall_status_json(const struct vw_wall *w)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "scene", stub_scenes[current()].id);
    cJSON_AddNumberToObject(o, "frames_rendered", 1);
    return o;
}

/* ---- the target ------------------------------------------------------------------------ */

static const char *const known_errors[] = {
    "parse_error",  "bad_request",   "unknown_command",   "bad_args",  "too_large",
    "unauthorized", "unknown_scene", "not_pushed",        "bad_tile",  "unknown_source",
    "config_error", "disabled",      "screenshot_failed", "forbidden", "not_assigned",
    "scene_exists", "not_saved",
};

static bool known_error(const char *code)
{
    for (size_t i = 0; i < sizeof known_errors / sizeof known_errors[0]; i++)
        if (strcmp(code, known_errors[i]) == 0)
            return true;
    return false;
}

static void check_reply(cJSON *reply)
{
    if (!reply)
        return;
    char *text = cJSON_PrintUnformatted(reply);
    if (!text || strchr(text, '\n'))
        abort(); /* a reply is exactly one line */
    cJSON *back = cJSON_Parse(text);
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(back, "ok");
    if (!cJSON_IsBool(ok))
        abort();
    if (cJSON_IsFalse(ok)) {
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(back, "error");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(back, "message");
        if (!cJSON_IsString(err) || !known_error(err->valuestring) || !cJSON_IsString(msg))
            abort();
    }
    cJSON_Delete(back);
    free(text);
    cJSON_Delete(reply);
}

static void one_line(const char *line, size_t len, struct vw_session *trusted,
                     struct vw_session *remote)
{
    struct vw_request r;
    bool ok = vw_commands_parse(line, len, &r);
    if (ok && (!r.cmd || r.error || r.empty))
        abort();
    if (!ok && !r.empty && (!r.error || !known_error(r.error) || !r.message[0]))
        abort();
    vw_request_finish(&r);

    struct vw_command_ctx ctx = {.wall = &stub_wall, .clients = 2};
    check_reply(vw_commands_handle_line(&ctx, trusted, line, len));
    check_reply(vw_commands_handle_line(&ctx, remote, line, len));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    vw_log_set_level(VW_LOG_ERROR); /* no audit lines while fuzzing */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vw_session trusted, remote;
    vw_session_init(&trusted, "unix:pid=1,uid=0", true);
    vw_session_init(&remote, "tcp:127.0.0.1:1", false);
    stub_base = 0;
    stub_pushed = -1;
    const char *p = (const char *)data, *end = p + size;
    while (p <= end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        one_line(p, len, &trusted, &remote);
        if (!nl)
            break;
        p = nl + 1;
    }
    vw_session_finish(&trusted);
    vw_session_finish(&remote);
    return 0;
}

#ifdef VW_FUZZ_MAIN
/* The regression driver: runs the target over every file in the folders (or files) given. */
#include <dirent.h>
#include <sys/stat.h>

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_request: can't read %s\n", path);
        return 1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t k;
    while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            uint8_t *p = realloc(buf, cap *= 2);
            if (!p) {
                free(buf);
                buf = NULL;
            }
            buf = p;
        }
    }
    fclose(f);
    if (!buf)
        return 1;
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    int files = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "fuzz_request: no such file or folder: %s\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            bad += run_file(argv[i]);
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d)
            return 1;
        char **names = NULL;
        int count = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char **p = realloc(names, sizeof *names * (size_t)(count + 1));
            if (!p)
                return 1;
            names = p;
            size_t len = strlen(argv[i]) + strlen(e->d_name) + 2;
            names[count] = malloc(len);
            snprintf(names[count], len, "%s/%s", argv[i], e->d_name);
            count++;
        }
        closedir(d);
        qsort(names, (size_t)count, sizeof *names, cmp_str);
        for (int k = 0; k < count; k++) {
            bad += run_file(names[k]);
            files++;
            free(names[k]);
        }
        free(names);
    }
    printf("fuzz_request: %d inputs ran, %d unreadable\n", files, bad);
    return (bad || files == 0) ? 1 : 0;
}
#endif
