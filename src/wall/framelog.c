#include "wall/framelog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/timeutil.h"

#define BUF_BYTES (64 * 1024)
#define LINE_MAX_BYTES 1024    /* a source id is cut to fit (ids are short) */
#define FLUSH_EVERY_US 1000000 /* a reader sees the log grow; a crash loses at most this */

struct vw_frame_log {
    int fd; /* -1: off after a write error */
    char *path;
    char *node;
    char buf[BUF_BYTES];
    size_t len;
    int64_t flushed_at_us;
};

int64_t vw_frame_log_now_us(void)
{
    return vw_realtime_us();
}

static void flush(struct vw_frame_log *l)
{
    size_t off = 0;
    while (l->fd >= 0 && off < l->len) {
        ssize_t n = write(l->fd, l->buf + off, l->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            vw_err("--frame-log %s: cannot write: %s; the frame log is off from now on", l->path,
                   n < 0 ? strerror(errno) : "no progress");
            close(l->fd);
            l->fd = -1;
        } else {
            off += (size_t)n;
        }
    }
    l->len = 0;
}

struct vw_frame_log *vw_frame_log_open(const char *path, const char *node, struct vw_errors *errs)
{
    /* O_NONBLOCK: a FIFO without a reader fails at once, one with a reader is refused below;
     * nothing is truncated before it is known to be a regular file. */
    int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0) {
        vw_errors_add(errs, "--frame-log %s: cannot open: %s", path,
                      errno == ELOOP   ? "a symbolic link"
                      : errno == ENXIO ? "not a regular file" /* a FIFO with no reader */
                                       : strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        vw_errors_add(errs, "--frame-log %s: cannot open: not a regular file", path);
        close(fd);
        return NULL;
    }
    if (ftruncate(fd, 0) != 0) {
        vw_errors_add(errs, "--frame-log %s: cannot empty it: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    struct vw_frame_log *l = calloc(1, sizeof *l);
    char *p = strdup(path), *n = strdup(node ? node : "");
    if (!l || !p || !n) {
        vw_errors_add(errs, "--frame-log %s: out of memory", path);
        free(l);
        free(p);
        free(n);
        close(fd);
        return NULL;
    }
    l->fd = fd;
    l->path = p;
    l->node = n;
    l->len = (size_t)snprintf(l->buf, sizeof l->buf, "present_us,node,tile,source,capture_us\n");
    l->flushed_at_us = vw_frame_log_now_us();
    return l;
}

/* `s` as a CSV field: quoted (quotes doubled) when it holds a comma, a quote or a line
 * break. Returns the bytes written, at most cap - 1. */
static size_t csv_field(char *out, size_t cap, const char *s)
{
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    size_t n = 0;
    if (quote && n + 1 < cap)
        out[n++] = '"';
    for (; *s && n + 3 < cap; s++) {
        if (*s == '"')
            out[n++] = '"';
        out[n++] = *s;
    }
    if (quote && n + 1 < cap)
        out[n++] = '"';
    out[n] = '\0';
    return n;
}

void vw_frame_log_add(struct vw_frame_log *l, int64_t present_us, int tile, const char *source,
                      int64_t capture_us)
{
    if (!l || l->fd < 0)
        return;
    if (l->len + LINE_MAX_BYTES > sizeof l->buf)
        flush(l);
    char *at = l->buf + l->len;
    size_t cap = LINE_MAX_BYTES;
    int n = snprintf(at, cap, "%lld,%s,%d,", (long long)present_us, l->node, tile);
    if (n < 0 || (size_t)n >= cap)
        return;
    size_t used = (size_t)n;
    used += csv_field(at + used, cap - used - 24, source); /* room for the capture time */
    if (capture_us >= 0)
        used += (size_t)snprintf(at + used, cap - used, ",%lld\n", (long long)capture_us);
    else
        used += (size_t)snprintf(at + used, cap - used, ",\n");
    l->len += used;
    if (present_us - l->flushed_at_us >= FLUSH_EVERY_US) {
        flush(l);
        l->flushed_at_us = present_us;
    }
}

void vw_frame_log_close(struct vw_frame_log *l)
{
    if (!l)
        return;
    flush(l);
    if (l->fd >= 0)
        close(l->fd);
    free(l->path);
    free(l->node);
    free(l);
}
