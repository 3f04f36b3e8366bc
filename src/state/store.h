/* store: where the wall state (state/wallstate.h) lives, behind one interface. The wall
 * commits transitions and reads the value back; it does not know which kind of store it has.
 *
 * The local store (one box) keeps the value in this process and writes every change to the
 * state file from a writer thread: temporary file in the same folder, fsync, rename. A burst
 * of commands costs one write of the newest value, and the main thread never waits on the
 * disk. A cluster's store (NATS JetStream key-value, issue 13) will commit with a
 * compare-and-set on the revision instead, behind the same calls.
 *
 * A shared store (a cluster's: cluster/kvstore.h is its backend) keeps the value in a NATS
 * JetStream bucket that every node watches. A commit is a proposal: the backend applies it
 * to the newest value with a compare-and-set (retrying when another node won the race) and
 * answers later (vw_store_take_result). Every committed value carries `at`, the moment it
 * shows (commit time + lead); vw_store_tick adopts, on every node alike, the newest value
 * whose `at` has come. What shows is then a function of (adopted value, time) as on one box.
 *
 * Main thread only, except the writer thread, which owns nothing but its copy of the text,
 * and a shared store's backend, which has threads of its own behind its callbacks. */
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
/* A value committed by some node of a cluster, as the backend hands it over. */
struct vw_store_value {
    struct vw_state state; /* owned: taken by the store */
    int64_t at_ms;         /* realtime ms when it shows on every node */
    char hash[17];         /* the wall file's hash on the node that committed it */
    char by[64];           /* who committed it */
    char proposal[96];     /* the committing node's name for the change ("a:17") */
};

/* The answer to a proposal (a commit of a shared store). */
struct vw_store_result {
    uint64_t ticket;
    const char *error; /* NULL, an error of vw_state_apply, or "cluster_unavailable" */
    uint64_t revision; /* of the committed value */
    int64_t at_ms;     /* when it shows */
    char *showing;     /* owned: the scene it shows at at_ms, and its base (NULL on errors) */
    char *base;
};

/* What a shared store needs of its backend. Every callback is called on the main thread and
 * must not block. */
struct vw_store_backend {
    void *ud;
    /* Takes a copy of t to commit; false when it cannot now (no server reachable): the
     * proposal then fails at once with "cluster_unavailable". */
    bool (*propose)(void *ud, uint64_t ticket, const struct vw_transition *t);
    /* The next value committed (in commit order), or false when none is waiting. */
    bool (*take_value)(void *ud, struct vw_store_value *out);
    bool (*take_result)(void *ud, struct vw_store_result *out);
    void (*destroy)(void *ud);
};

/* A shared store over `backend` (its destroy is called by vw_store_destroy), starting from
 * vw_state_init(base) until the first value arrives. */
struct vw_store *vw_store_create_shared(const struct vw_store_backend *backend, const char *base);
bool vw_store_is_shared(const struct vw_store *s);

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

/* Local: applies t (see vw_state_apply): NULL on success, else the error code. Shared:
 * proposes t and returns VW_STORE_PENDING with *ticket set (the answer comes through
 * vw_store_take_result), or "cluster_unavailable". */
extern const char VW_STORE_PENDING[];
const char *vw_store_commit(struct vw_store *s, const struct vw_transition *t, uint64_t *ticket);
bool vw_store_take_result(struct vw_store *s, struct vw_store_result *out);
/* Shared: takes what the backend received and adopts the next value (in commit order) whose
 * `at` is at or before now_ms: call it until it returns false, so that every revision is
 * seen, and told, on every node alike. true when it adopted one (*previous then holds the
 * value before, to be finished by the caller). Local: false. */
bool vw_store_tick(struct vw_store *s, int64_t now_ms, struct vw_state *previous);
/* The next value waiting to be adopted (its `at` not yet come), or NULL: a cluster node
 * starts what it will show while it waits. */
const struct vw_store_value *vw_store_peek(const struct vw_store *s);
/* The `at` of the next value waiting to be adopted, or 0 when none waits. */
int64_t vw_store_next_at(const struct vw_store *s);
/* Who committed the adopted value, and the wall file hash it was committed with ("" when
 * unknown: a local store, or no value yet). */
const char *vw_store_by(const struct vw_store *s);
const char *vw_store_hash(const struct vw_store *s);
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
