/* store: where the wall state (state/wallstate.h) lives, behind one interface. The wall
 * commits transitions and reads the value back; it does not know which kind of store it has.
 *
 * The local store (one box) keeps the value in this process and writes every change to the
 * state file from a writer thread: temporary file in the same folder, fsync, rename. A burst
 * of commands costs one write of the newest value, and the main thread never waits on the
 * disk. A cluster's store (NATS JetStream key-value, issue 13) will commit with a
 * compare-and-set on the revision instead, behind the same calls.
 *
 * Main thread only, except the writer thread, which owns nothing but its copy of the text. */
#ifndef VW_STORE_H
#define VW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state/wallstate.h"

struct vw_store;

/* A local store starting from vw_state_init(base). `path` is the state file (NULL: nothing
 * is written or read); `wall_file` and `config_hash` are recorded in it, so that a state
 * file made for another wall file is not restored. */
struct vw_store *vw_store_create_local(const char *path, const char *wall_file,
                                       const char *config_hash, const char *base);
/* Writes what is pending, stops the writer thread, frees everything. NULL ok. */
void vw_store_destroy(struct vw_store *s);

enum vw_store_restore {
    VW_RESTORE_NONE,       /* no state file (first start): nothing restored, no warning */
    VW_RESTORE_ALL,        /* base, stack, picks and saved scenes restored */
    VW_RESTORE_SAVED_ONLY, /* made for another version of the wall file: saved scenes only */
    VW_RESTORE_IGNORED,    /* unreadable, truncated, or for another wall file: nothing */
};
/* Reads the state file, if any, into the store (at start). Returns what was restored, with a
 * sentence for the log in why (the reason when ignored). Expired pushes are dropped. */
enum vw_store_restore vw_store_restore(struct vw_store *s, int64_t now_ms, char *why,
                                       size_t why_cap);

const struct vw_state *vw_store_state(const struct vw_store *s);
const char *vw_store_path(const struct vw_store *s); /* NULL when not persisted */

/* Applies t (see vw_state_apply): NULL on success, else the error code. */
const char *vw_store_commit(struct vw_store *s, const struct vw_transition *t);
/* vw_state_prune, persisted when it dropped anything. */
bool vw_store_prune(struct vw_store *s, int64_t now_ms);
/* After a reload: the new wall file's hash, then vw_state_retain (see there). */
bool vw_store_retain(struct vw_store *s, const char *config_hash,
                     int (*tiles)(void *ud, const char *scene),
                     bool (*source_ok)(void *ud, const char *source), void *ud,
                     const char *fallback);
/* Blocks until the newest value is on disk (tests, shutdown). */
void vw_store_flush(struct vw_store *s);

#endif
