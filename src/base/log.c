#include "base/log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static enum vw_log_level current_level = VW_LOG_INFO;
static bool level_from_env_done;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void vw_log_set_level(enum vw_log_level level)
{
    pthread_mutex_lock(&log_lock);
    current_level = level;
    level_from_env_done = true;
    pthread_mutex_unlock(&log_lock);
}

static void read_env_level(void)
{
    const char *env = getenv("VWALL_LOG");
    level_from_env_done = true;
    if (!env)
        return;
    for (int i = 0; i <= VW_LOG_DEBUG; i++)
        if (strcasecmp(env, level_names[i]) == 0)
            current_level = (enum vw_log_level)i;
}

void vw_log_(enum vw_log_level level, const char *file, int line, const char *fmt, ...)
{
    pthread_mutex_lock(&log_lock);
    if (!level_from_env_done)
        read_env_level();
    if (level > current_level) {
        pthread_mutex_unlock(&log_lock);
        return;
    }
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);

    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s.%03ld [%s:%d] %s: %s\n", stamp, ts.tv_nsec / 1000000, base, line,
            level_names[level], msg);
    pthread_mutex_unlock(&log_lock);
}
