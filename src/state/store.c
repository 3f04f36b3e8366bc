#include "state/store.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/mem.h"

#define STATE_FILE_VERSION 1
#define STATE_FILE_MAX (64 * 1024 * 1024)

struct vw_store {
    struct vw_state state;
    char *path, *wall_file, *hash;

    /* the writer thread; `pending`, `busy`, `stop` and `written` protected by lock */
    pthread_t writer;
    bool writer_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char *pending; /* newest text not yet taken by the writer, or NULL */
    bool busy;     /* the writer is writing a text */
    bool stop;
    char last_error[512]; /* writer only: the last error logged, to log each once */

    /* shared stores only */
    bool shared;
    struct vw_store_backend backend;
    uint64_t next_ticket;
    struct vw_store_value *waiting; /* received, not yet adopted; in commit order */
    int waiting_count, waiting_cap;
    char adopted_by[64], adopted_hash[17];
    bool adopted_any; /* a value came from the backend (else the start value shows) */
};

const char VW_STORE_PENDING[] = "pending";

/* ---- writing (writer thread) ----------------------------------------------------------- */

static void mkdirs(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0755);
            *p = '/';
        }
    }
    mkdir(buf, 0755);
}

/* Writes `text` to s->path atomically; the reason in why on failure. */
static bool write_file(struct vw_store *s, const char *text, char *why, size_t cap)
{
    char dir[4096], tmp[4200];
    snprintf(dir, sizeof dir, "%s", s->path);
    char *d = dirname(dir);
    mkdirs(d);
    snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", s->path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(why, cap, "cannot create a file in %.300s: %s", d, strerror(errno));
        return false;
    }
    size_t n = strlen(text), off = 0;
    while (off < n) {
        ssize_t w = write(fd, text + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(why, cap, "cannot write %.300s: %s", tmp, strerror(errno));
            goto fail;
        }
        off += (size_t)w;
    }
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
        snprintf(why, cap, "cannot write %.300s: %s", tmp, strerror(errno));
        goto fail;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, s->path) != 0) {
        snprintf(why, cap, "cannot rename %.200s to %.200s: %s", tmp, s->path, strerror(errno));
        goto fail;
    }
    int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd); /* the rename itself on disk */
        close(dfd);
    }
    return true;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return false;
}

static void *writer_main(void *ud)
{
    struct vw_store *s = ud;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->pending && !s->stop)
            pthread_cond_wait(&s->cond, &s->lock);
        if (!s->pending && s->stop)
            break;
        char *text = s->pending;
        s->pending = NULL;
        s->busy = true;
        pthread_mutex_unlock(&s->lock);
        char why[512];
        if (!write_file(s, text, why, sizeof why)) {
            if (strcmp(why, s->last_error) != 0)
                vw_warn("state: %s; the scene state will not survive a restart", why);
            snprintf(s->last_error, sizeof s->last_error, "%s", why);
        } else if (s->last_error[0]) {
            vw_info("state: %s written again", s->path);
            s->last_error[0] = '\0';
        }
        free(text);
        pthread_mutex_lock(&s->lock);
        s->busy = false;
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Hands the newest value to the writer (main thread). */
static void persist(struct vw_store *s)
{
    if (!s->path)
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "vwall_state", STATE_FILE_VERSION);
    cJSON_AddStringToObject(o, "wall_file", s->wall_file ? s->wall_file : "");
    cJSON_AddStringToObject(o, "config_hash", s->hash ? s->hash : "");
    cJSON_AddItemToObject(o, "state", vw_state_to_json(&s->state));
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text)
        return;
    pthread_mutex_lock(&s->lock);
    free(s->pending); /* an older value nobody needs to write any more */
    s->pending = text;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* ---- the store ------------------------------------------------------------------------- */

struct vw_store *vw_store_create_local(const char *path, const char *wall_file,
                                       const char *config_hash, const char *base)
{
    struct vw_store *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    vw_state_init(&s->state, base);
    s->path = vw_xstrdup(path);
    s->wall_file = vw_xstrdup(wall_file);
    s->hash = vw_xstrdup(config_hash);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    if (s->path) {
        if (pthread_create(&s->writer, NULL, writer_main, s) == 0) {
            s->writer_started = true;
        } else {
            vw_warn("state: cannot start the writer thread; %s will not be written", s->path);
            free(s->path);
            s->path = NULL;
        }
    }
    return s;
}

struct vw_store *vw_store_create_shared(const struct vw_store_backend *backend, const char *base)
{
    struct vw_store *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    vw_state_init(&s->state, base);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->shared = true;
    s->backend = *backend;
    return s;
}

bool vw_store_is_shared(const struct vw_store *s)
{
    return s->shared;
}

void vw_store_flush(struct vw_store *s)
{
    if (!s || !s->writer_started)
        return;
    pthread_mutex_lock(&s->lock);
    while (s->pending || s->busy)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
}

void vw_store_destroy(struct vw_store *s)
{
    if (!s)
        return;
    if (s->writer_started) {
        pthread_mutex_lock(&s->lock);
        s->stop = true;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->writer, NULL); /* it writes what is pending first */
    }
    if (s->shared && s->backend.destroy)
        s->backend.destroy(s->backend.ud);
    for (int i = 0; i < s->waiting_count; i++)
        vw_state_finish(&s->waiting[i].state);
    free(s->waiting);
    free(s->pending);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    vw_state_finish(&s->state);
    free(s->path);
    free(s->wall_file);
    free(s->hash);
    free(s);
}

const struct vw_state *vw_store_state(const struct vw_store *s)
{
    return &s->state;
}

const char *vw_store_path(const struct vw_store *s)
{
    return s->path;
}

const char *vw_store_commit(struct vw_store *s, const struct vw_transition *t, uint64_t *ticket)
{
    if (s->shared) {
        *ticket = ++s->next_ticket;
        if (s->backend.propose(s->backend.ud, *ticket, t))
            return VW_STORE_PENDING;
        return "cluster_unavailable";
    }
    const char *err = vw_state_apply(&s->state, t);
    if (!err)
        persist(s);
    return err;
}

bool vw_store_take_result(struct vw_store *s, struct vw_store_result *out)
{
    return s->shared && s->backend.take_result(s->backend.ud, out);
}

bool vw_store_tick(struct vw_store *s, int64_t now_ms, struct vw_state *previous)
{
    if (!s->shared)
        return false;
    struct vw_store_value v;
    while (s->backend.take_value(s->backend.ud, &v)) {
        uint64_t newest =
            s->waiting_count ? s->waiting[s->waiting_count - 1].state.revision : s->state.revision;
        if (v.state.revision <= newest && (s->waiting_count || s->adopted_any)) {
            vw_state_finish(&v.state); /* seen already (our own commit, echoed by the watch) */
            continue;
        }
        if (s->waiting_count == s->waiting_cap) {
            s->waiting_cap = s->waiting_cap ? 2 * s->waiting_cap : 8;
            s->waiting = realloc(s->waiting, (size_t)s->waiting_cap * sizeof *s->waiting);
            if (!s->waiting)
                abort();
        }
        s->waiting[s->waiting_count++] = v;
    }
    /* The next value, when its moment has come. */
    int take = 0;
    if (!s->waiting_count || s->waiting[0].at_ms > now_ms)
        return false;
    bool changed = s->waiting[take].state.revision != s->state.revision ||
                   !vw_state_equal(&s->waiting[take].state, &s->state);
    *previous = s->state;
    s->state = s->waiting[take].state;
    s->adopted_any = true;
    snprintf(s->adopted_by, sizeof s->adopted_by, "%s", s->waiting[take].by);
    snprintf(s->adopted_hash, sizeof s->adopted_hash, "%s", s->waiting[take].hash);
    memmove(s->waiting, s->waiting + take + 1,
            (size_t)(s->waiting_count - take - 1) * sizeof *s->waiting);
    s->waiting_count -= take + 1;
    if (!changed) {
        vw_state_finish(previous);
        return false;
    }
    return true;
}

const struct vw_store_value *vw_store_peek(const struct vw_store *s)
{
    return s->waiting_count ? &s->waiting[0] : NULL;
}

int64_t vw_store_next_at(const struct vw_store *s)
{
    return s->waiting_count ? s->waiting[0].at_ms : 0;
}

const char *vw_store_by(const struct vw_store *s)
{
    return s->adopted_by;
}

const char *vw_store_hash(const struct vw_store *s)
{
    return s->adopted_hash;
}

bool vw_store_prune(struct vw_store *s, int64_t now_ms)
{
    if (!vw_state_prune(&s->state, now_ms))
        return false;
    persist(s); /* a shared store has no file: each node prunes its own copy alike */
    return true;
}

bool vw_store_retain(struct vw_store *s, const char *config_hash,
                     int (*tiles)(void *ud, const char *scene),
                     bool (*source_ok)(void *ud, const char *source), void *ud,
                     const char *fallback)
{
    free(s->hash);
    s->hash = vw_xstrdup(config_hash);
    bool changed = vw_state_retain(&s->state, tiles, source_ok, ud, fallback);
    persist(s); /* the new hash, at least */
    return changed;
}

/* ---- restoring ------------------------------------------------------------------------- */

static char *read_small_file(const char *path, char *why, size_t cap, bool *missing)
{
    *missing = false;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        *missing = errno == ENOENT;
        snprintf(why, cap, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > STATE_FILE_MAX) {
        snprintf(why, cap, "%s: not a regular file of at most %d MiB", path,
                 STATE_FILE_MAX / (1024 * 1024));
        close(fd);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        abort();
    size_t off = 0;
    while (off < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    close(fd);
    buf[off] = '\0';
    return buf;
}

enum vw_store_restore vw_store_restore(struct vw_store *s, int64_t now_ms, char *why, size_t cap)
{
    why[0] = '\0';
    if (!s->path || s->shared)
        return VW_RESTORE_NONE;
    bool missing;
    char *text = read_small_file(s->path, why, cap, &missing);
    if (!text)
        return missing ? VW_RESTORE_NONE : VW_RESTORE_IGNORED;
    cJSON *root = cJSON_Parse(text);
    free(text);
    enum vw_store_restore result = VW_RESTORE_IGNORED;
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "vwall_state");
    const cJSON *wall = cJSON_GetObjectItemCaseSensitive(root, "wall_file");
    const cJSON *hash = cJSON_GetObjectItemCaseSensitive(root, "config_hash");
    struct vw_state st;
    char reason[256];
    if (!root) {
        snprintf(why, cap, "%s is not JSON (truncated?)", s->path);
    } else if (!cJSON_IsNumber(ver) || ver->valuedouble != STATE_FILE_VERSION) {
        snprintf(why, cap, "%s is not a vwall state file of version %d", s->path,
                 STATE_FILE_VERSION);
    } else if (!cJSON_IsString(wall) || !s->wall_file || strcmp(wall->valuestring, s->wall_file)) {
        snprintf(why, cap, "%s was written for another wall file (%s)", s->path,
                 cJSON_IsString(wall) ? wall->valuestring : "?");
    } else if (!vw_state_from_json(cJSON_GetObjectItemCaseSensitive(root, "state"), &st, reason,
                                   sizeof reason)) {
        snprintf(why, cap, "%s: %s", s->path, reason);
    } else {
        bool same_hash = cJSON_IsString(hash) && s->hash && strcmp(hash->valuestring, s->hash) == 0;
        if (same_hash) {
            vw_state_finish(&s->state);
            s->state = st;
            vw_state_prune(&s->state, now_ms);
            snprintf(why, cap,
                     "restored from %s: scene '%s' with %d incident%s pushed (revision %llu)",
                     s->path, vw_state_showing(&s->state, now_ms), s->state.stack_count,
                     s->state.stack_count == 1 ? "" : "s", (unsigned long long)s->state.revision);
            result = VW_RESTORE_ALL;
        } else {
            /* The saved scenes are the operators' work: they survive an edited wall file. What
             * showed was shown on another layout, so it is not brought back. */
            struct vw_state keep;
            vw_state_init(&keep, s->state.base);
            keep.revision = st.revision;
            keep.saved = st.saved;
            keep.saved_count = st.saved_count;
            st.saved = NULL;
            st.saved_count = 0;
            vw_state_finish(&st);
            vw_state_finish(&s->state);
            s->state = keep;
            snprintf(why, cap,
                     "%s was written for another version of the wall file: its %d saved scene%s "
                     "kept, the scene showing and incidents not restored",
                     s->path, keep.saved_count, keep.saved_count == 1 ? "" : "s");
            result = VW_RESTORE_SAVED_ONLY;
        }
    }
    cJSON_Delete(root);
    return result;
}
