/* cluster: one wall over several machines (docs/cluster.md). Each machine runs vwall as a
 * node (`--node ID`) that renders its own panels; the nodes share the wall's state through a
 * NATS JetStream key-value bucket and see each other over NATS subjects:
 *
 *   bucket NAME, key "state"   the wall state (state/wallstate.h) as JSON, with `at` (the
 *                              realtime ms it shows: commit time + lead_ms), the committing
 *                              node's wall file hash and who committed it
 *   NAME.node.ID               each node's heartbeat, twice a second (render fps, frames
 *                              dropped, latency, wall file hash)
 *   NAME.clock.ID              request/reply: the node's realtime clock, for offsets
 *
 * The store backend (vw_cluster_backend) commits proposals with a compare-and-set on the
 * bucket's revision, retrying on a lost race, on a thread of its own; a second thread
 * watches the key. The main thread never waits on the network: proposals and values cross
 * through queues, and the wall's wake fd says when something arrived.
 *
 * Without NATS (all servers down) the node keeps its last value; proposals fail at once
 * with "cluster_unavailable"; the client reconnects by itself and the node resumes. */
#ifndef VW_CLUSTER_H
#define VW_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/errors.h"
#include "model/config.h"
#include "state/store.h"

struct cJSON;
struct vw_cluster;

/* Starts connecting to cfg->cluster's servers as node `node` (in the background: a node
 * starts, draws and serves its socket while no server answers). `base`: the scene a fresh
 * bucket starts with. `wake_fd`: an eventfd written when a value or an answer arrives.
 * NULL with the reason in errs when the options are unusable (credentials files, TLS). */
struct vw_cluster *vw_cluster_create(const struct vw_config *cfg, const char *node,
                                     const char *base, int wake_fd, struct vw_errors *errs);
void vw_cluster_destroy(struct vw_cluster *c); /* NULL ok; after the store built on it */

/* The backend of a shared store (state/store.h) over the bucket. The store calls it on the
 * main thread; its destroy does nothing (vw_cluster_destroy frees the cluster). */
struct vw_store_backend vw_cluster_backend(struct vw_cluster *c);

/* Whether a NATS server is connected now. */
bool vw_cluster_connected(const struct vw_cluster *c);
const char *vw_cluster_node(const struct vw_cluster *c);

/* This node's heartbeat (a JSON object; the cluster adds id, panels, hash and time):
 * published when at least 500 ms passed since the last. Main thread; never blocks. */
void vw_cluster_heartbeat(struct vw_cluster *c, struct cJSON *beat);
/* Whether a heartbeat is due now (twice a second): build one only then. */
bool vw_cluster_beat_due(const struct vw_cluster *c);

/* status.nodes: every node of the wall file with what its heartbeats said: {id, panels,
 * alive, last_seen_ms, render_fps, frames_dropped, latency_p99_ms, clock_offset_ms,
 * config_mismatch}. `state_hash`: the hash the shared value was committed with ("" when
 * unknown); a node whose wall file differs from the wall's (see vw_cluster_mismatch) is
 * mismatched. */
struct cJSON *vw_cluster_nodes_json(struct vw_cluster *c, const char *state_hash);

/* The other nodes decoding source `id`, from their heartbeats: [{node, state}] (caller owns
 * it), or NULL when no other live node decodes it. */
struct cJSON *vw_cluster_source_nodes(struct vw_cluster *c, const char *id);

/* Which nodes' wall files differ from the wall's (see vw_cluster_mismatch), from their
 * heartbeats (ours included): bit k for cluster.nodes[k]. */
uint64_t vw_cluster_mismatch_mask(struct vw_cluster *c, const char *state_hash);

/* Whether this node's wall file differs from the wall's: the one most live nodes have, on a
 * tie the one the shared value was committed with (state_hash). */
bool vw_cluster_mismatch(struct vw_cluster *c, const char *state_hash);
/* After a reload: our wall file's new hash, for heartbeats and commits. */
void vw_cluster_set_hash(struct vw_cluster *c, const char *hash);

/* ---- asking the other nodes (whole-wall screenshots, reloads) ---------------------------- */

/* One node's answer: ok false when it sent none within the time (dead, hung, cut off). */
struct vw_cluster_answer {
    char node[64];
    bool ok;
    void *data; /* owned by the cluster; valid during the callback */
    int len;
};
typedef void (*vw_cluster_asked_fn)(void *ud, const struct vw_cluster_answer *answers, int count);

/* Sends `what` (with `payload`, may be NULL) to every other node of the wall file and calls
 * done(ud, answers, count) from a later vw_cluster_poll, at most timeout_ms on. A thread of
 * its own waits; the main thread never does. */
void vw_cluster_ask_others(struct vw_cluster *c, const char *what, const char *payload,
                           int timeout_ms, vw_cluster_asked_fn done, void *ud);

/* A question another node asked us: answer it with vw_cluster_reply (any time, once). */
struct vw_cluster_ask {
    char what[32];
    char reply[256]; /* the subject the answer goes to */
    char *payload;   /* owned by the receiver: free() it */
};
/* Main thread, once a tick: runs the callbacks of finished asks; then takes the next question
 * asked of us into *out (false: none). */
bool vw_cluster_poll(struct vw_cluster *c, struct vw_cluster_ask *out);
void vw_cluster_reply(struct vw_cluster *c, const char *reply, const void *data, int len);

#endif
