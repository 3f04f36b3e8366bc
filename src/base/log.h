/* log: one line per message on stderr, "[file:line] level: text".
 * Any thread may log; a line is never interleaved with another. */
#ifndef VW_LOG_H
#define VW_LOG_H

#include <stdarg.h>

enum vw_log_level { VW_LOG_ERROR, VW_LOG_WARN, VW_LOG_INFO, VW_LOG_DEBUG };

/* Messages above `level` are dropped. Default VW_LOG_INFO; VWALL_LOG=debug|info|warn|error
 * in the environment overrides it at the first message. */
void vw_log_set_level(enum vw_log_level level);
void vw_log_(enum vw_log_level level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define vw_err(...) vw_log_(VW_LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define vw_warn(...) vw_log_(VW_LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define vw_info(...) vw_log_(VW_LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define vw_debug(...) vw_log_(VW_LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

#endif
