#include "base/log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static enum vw_log_level current_level = VW_LOG_INFO;
static bool level_from_env_done;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"error", "warn", "info", "debug"};
/* syslog priorities (sd-daemon.h's SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG) */
static const char *const level_prefixes[] = {"<3>", "<4>", "<6>", "<7>"};

static pthread_once_t journal_once = PTHREAD_ONCE_INIT;
static bool to_journal;

/* Whether stderr is the stream systemd connected to the journal: JOURNAL_STREAM is
 * "device:inode" of that stream. A child whose stderr was redirected elsewhere inherits
 * the variable, so the device and inode must match stderr's own. */
static void detect_journal(void)
{
    const char *env = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) != 0)
        return;
    to_journal = (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

const char *vw_log_prefix(enum vw_log_level level)
{
    pthread_once(&journal_once, detect_journal);
    if (!to_journal || level < VW_LOG_ERROR || level > VW_LOG_DEBUG)
        return "";
    return level_prefixes[level];
}

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

    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *prio = vw_log_prefix(level);
    if (prio[0]) { /* the journal stamps the time itself */
        fprintf(stderr, "%s[%s:%d] %s: %s\n", prio, base, line, level_names[level], msg);
        pthread_mutex_unlock(&log_lock);
        return;
    }

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ld [%s:%d] %s: %s\n", stamp, ts.tv_nsec / 1000000, base, line,
            level_names[level], msg);
    pthread_mutex_unlock(&log_lock);
}
