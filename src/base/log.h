/* log: one line per message on stderr, "HH:MM:SS.mmm [file:line] level: text".
 * Any thread may log; a line is never interleaved with another.
 * Under journald (JOURNAL_STREAM names stderr's device and inode, as systemd sets it for a
 * service whose output goes to the journal) each line starts with its syslog priority
 * instead of the time ("<3>" error, "<4>" warning, "<6>" info, "<7>" debug), so that
 * `journalctl -p warning` shows warnings and errors only. */
#ifndef VW_LOG_H
#define VW_LOG_H

#include <stdarg.h>

enum vw_log_level { VW_LOG_ERROR, VW_LOG_WARN, VW_LOG_INFO, VW_LOG_DEBUG };

/* Messages above `level` are dropped. Default VW_LOG_INFO; VWALL_LOG=debug|info|warn|error
 * in the environment overrides it at the first message. */
void vw_log_set_level(enum vw_log_level level);
void vw_log_(enum vw_log_level level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The priority prefix for a line of `level` written to stderr by hand (a program's own
 * error lines): "<3>" etc. under journald, else "". Any thread. */
const char *vw_log_prefix(enum vw_log_level level);

#define vw_err(...) vw_log_(VW_LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define vw_warn(...) vw_log_(VW_LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define vw_info(...) vw_log_(VW_LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define vw_debug(...) vw_log_(VW_LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

#endif
