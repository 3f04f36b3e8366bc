/* framelog: the --frame-log CSV, for measuring a wall (issue 13, point 8): one line per tile
 * per redraw, `present_us,node,tile,source,capture_us`, after a header line. present_us is
 * CLOCK_REALTIME microseconds when the redraw was presented (comparable across the nodes of
 * a cluster whose clocks are synchronised); capture_us is when the frame shown was captured,
 * empty when unknown. Main thread only. */
#ifndef VW_FRAMELOG_H
#define VW_FRAMELOG_H

#include <stdint.h>

#include "base/errors.h"

struct vw_frame_log;

/* Opens `path` without blocking and without following a symlink: a new file, or a regular
 * file (emptied); anything else is refused. `node` (NULL: none) is copied. NULL with the
 * reason in errs. */
struct vw_frame_log *vw_frame_log_open(const char *path, const char *node, struct vw_errors *errs);
/* Adds one line (capture_us < 0: unknown). Lines are buffered and written about once a
 * second; a write error is logged once and turns the log off. */
void vw_frame_log_add(struct vw_frame_log *l, int64_t present_us, int tile, const char *source,
                      int64_t capture_us);
/* Writes what is buffered and closes the file. NULL ok. */
void vw_frame_log_close(struct vw_frame_log *l);

/* CLOCK_REALTIME in microseconds. */
int64_t vw_frame_log_now_us(void);

#endif
