#include "cluster/cluster.h"

#include <cjson/cJSON.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/mem.h"
#include "base/timeutil.h"
#include "cluster/clocks.h"

#define VALUE_VERSION 1
#define STATE_KEY "state"
#define CAS_ATTEMPTS 32     /* lost races before a proposal gives up */
#define FAILOVER_MS 15000   /* a proposal waits this long for JetStream to fail over */
#define RECONNECT_MS 2000   /* ...and this long for the client to reach another server */
#define JS_WAIT_MS 2000     /* a JetStream request (commit, get) waits at most this long */
#define BEAT_EVERY_MS 500   /* heartbeats */
#define ALIVE_MS 3000       /* a node unheard this long is not alive */
#define CLOCK_EVERY_MS 2000 /* clock offset measurements */
#define CLOCK_WARN_US 5000  /* offsets beyond this are warned about */
#define SYNC_EVERY_MS 500   /* the committer checks that the watch keeps up */
#define VERDICTS 1024       /* recent bucket revisions whose fate is remembered */

struct peer {
    char *id, *panels;
    int64_t last_seen_ms;         /* realtime, 0: never heard */
    cJSON *beat;                  /* its last heartbeat, or NULL */
    struct vw_clock_filter clock; /* its clock against ours (committer thread, under lock) */
    bool offset_warned;
};

/* What the watch made of a bucket revision: taken into the chain or skipped. */
struct verdict {
    uint64_t kvrev;
    bool accepted;
};

struct proposal {
    uint64_t ticket;
    struct vw_transition *t; /* owned copy */
};

/* An ask of ours on its way (a thread of its own waits for the answers). */
struct ask_job {
    struct vw_cluster *c;
    char what[32];
    char *payload;
    int timeout_ms;
    vw_cluster_asked_fn done;
    void *ud;
    struct vw_cluster_answer *answers;
    int count;
    pthread_t thread;
    atomic_bool finished;
};

struct vw_cluster {
    char *name, *node, *base, *subj_beat, *subj_clock, *subj_ask;
    char hash[17]; /* our wall file's (lock: a reload changes it) */
    int lead_ms;
    int servers; /* URLs in cluster.nats */
    int wake_fd;

    natsOptions *opts, *probe_opts;
    natsConnection *nc;
    jsCtx *js;
    kvStore *kv;
    natsSubscription *beat_sub, *clock_sub, *ask_sub;
    atomic_bool kv_ready, stop, rewatch;
    atomic_llong down_since_ms; /* realtime ms the connection was lost; 0: up or never up */
    atomic_bool ever_connected;
    pthread_t committer, watcher;
    bool threads_started;

    /* everything below: lock */
    pthread_mutex_t lock;
    pthread_cond_t cond; /* proposals arrived, or stop */
    struct proposal *props;
    int nprops, capprops;
    struct vw_store_result *results;
    int nres, capres;
    struct vw_store_value *values;
    int nval, capval;
    pthread_cond_t watch_cond; /* the watch brought a value */
    bool watch_synced;         /* the watch delivered what the bucket held when it started */
    bool have_latest;          /* the chain's newest value: the base of the next change */
    struct vw_state latest;
    char latest_proposal[96];
    uint64_t seen_kvrev;      /* the newest bucket revision the watch brought */
    uint64_t delivered_kvrev; /* the newest value handed to the main thread */
    struct verdict verdicts[VERDICTS];
    struct peer *peers;
    int npeers;
    struct vw_cluster_ask *asked; /* questions for us, from NATS's threads */
    int nasked, capasked;

    int64_t last_beat_ms;  /* main thread */
    struct ask_job **jobs; /* main thread: asks of ours not yet delivered */
    int njobs, capjobs;
};

static void wake(struct vw_cluster *c)
{
    uint64_t one = 1;
    if (c->wake_fd >= 0 && write(c->wake_fd, &one, sizeof one) < 0) {
        /* full or closed: the main loop is awake anyway */
    }
}

static const char *last_error(natsStatus s)
{
    const char *text = nats_GetLastError(NULL);
    return text && *text ? text : natsStatus_GetText(s);
}

/* ---- the value in the bucket ----------------------------------------------------------- */

static char *value_text(const struct vw_state *st, int64_t at_ms, const char *hash, const char *by,
                        const char *proposal)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "vwall_cluster", VALUE_VERSION);
    cJSON_AddNumberToObject(o, "at_ms", (double)at_ms);
    cJSON_AddStringToObject(o, "config_hash", hash);
    cJSON_AddStringToObject(o, "by", by ? by : "");
    cJSON_AddStringToObject(o, "proposal", proposal); /* node:ticket, to know our own again */
    cJSON_AddItemToObject(o, "state", vw_state_to_json(st));
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

static bool parse_value(const char *data, int len, struct vw_store_value *out, char *why,
                        size_t cap)
{
    cJSON *o = cJSON_ParseWithLength(data, (size_t)len);
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(o, "vwall_cluster");
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(o, "at_ms");
    const cJSON *hash = cJSON_GetObjectItemCaseSensitive(o, "config_hash");
    const cJSON *by = cJSON_GetObjectItemCaseSensitive(o, "by");
    bool ok = false;
    if (!cJSON_IsNumber(ver) || ver->valuedouble != VALUE_VERSION || !cJSON_IsNumber(at) ||
        !cJSON_IsString(hash) || !cJSON_IsString(by)) {
        snprintf(why, cap, "not a vwall cluster value of version %d", VALUE_VERSION);
    } else if (vw_state_from_json(cJSON_GetObjectItemCaseSensitive(o, "state"), &out->state, why,
                                  cap)) {
        out->at_ms = (int64_t)at->valuedouble;
        snprintf(out->hash, sizeof out->hash, "%s", hash->valuestring);
        snprintf(out->by, sizeof out->by, "%s", by->valuestring);
        const cJSON *prop = cJSON_GetObjectItemCaseSensitive(o, "proposal");
        snprintf(out->proposal, sizeof out->proposal, "%s",
                 cJSON_IsString(prop) ? prop->valuestring : "");
        ok = true;
    }
    cJSON_Delete(o);
    return ok;
}

/* Hands a value to the main thread (lock held). Values go in bucket order, each once, so
 * that every node adopts every revision and tells its consoles the same events. */
static void deliver_locked(struct vw_cluster *c, uint64_t kvrev, struct vw_store_value *v)
{
    if (kvrev <= c->delivered_kvrev) {
        vw_state_finish(&v->state);
        return;
    }
    c->delivered_kvrev = kvrev;
    c->values = vw_grow(c->values, c->nval, &c->capval, sizeof *c->values);
    c->values[c->nval++] = *v;
}

/* Whether the value at kvrev was taken into the chain (lock held); false when unknown. */
static bool accepted_locked(const struct vw_cluster *c, uint64_t kvrev)
{
    const struct verdict *v = &c->verdicts[kvrev % VERDICTS];
    return v->kvrev == kvrev && v->accepted;
}

/* A value from the watch, in bucket order (watcher thread). The bucket's values form a chain:
 * each is the one before with one transition applied, so its revision is one more. A value
 * whose revision is not above the chain's was built on a value that was not the newest (a
 * compare-and-set that the server let through although another came first: Debian's
 * nats-server 2.9.10 does so in a clustered stream under load, docs/cluster.md): every node
 * skips it alike, and its committer, seeing it skipped, commits its change again. */
static void took_entry(struct vw_cluster *c, kvEntry *e)
{
    uint64_t kvrev = kvEntry_Revision(e);
    struct vw_store_value v = {0};
    char why[256];
    bool parsed = kvEntry_Operation(e) == kvOp_Put &&
                  parse_value(kvEntry_Value(e), kvEntry_ValueLen(e), &v, why, sizeof why);
    if (kvEntry_Operation(e) == kvOp_Put && !parsed)
        vw_warn("cluster: the shared state (revision %llu of bucket %s) is unreadable: %s; "
                "keeping what shows",
                (unsigned long long)kvrev, c->name, why);
    pthread_mutex_lock(&c->lock);
    bool accept = parsed && kvrev > c->seen_kvrev &&
                  (!c->have_latest || v.state.revision > c->latest.revision);
    if (kvrev > c->seen_kvrev)
        c->seen_kvrev = kvrev;
    c->verdicts[kvrev % VERDICTS] = (struct verdict){.kvrev = kvrev, .accepted = accept};
    if (accept) {
        if (c->have_latest)
            vw_state_finish(&c->latest);
        vw_state_copy(&c->latest, &v.state);
        c->have_latest = true;
        snprintf(c->latest_proposal, sizeof c->latest_proposal, "%s", v.proposal);
        deliver_locked(c, kvrev, &v);
    } else if (parsed) {
        vw_debug("cluster: bucket value %llu (revision %llu) skipped: built on an older value",
                 (unsigned long long)kvrev, (unsigned long long)v.state.revision);
        vw_state_finish(&v.state);
    }
    pthread_cond_broadcast(&c->watch_cond);
    pthread_mutex_unlock(&c->lock);
    if (accept)
        wake(c);
}

/* Waits until the watch has brought the bucket up to kvrev (and its first values at all);
 * false after timeout_ms. Committer thread. */
static bool wait_for_watch(struct vw_cluster *c, uint64_t kvrev, int timeout_ms)
{
    struct timespec ts = vw_realtime_after(timeout_ms);
    pthread_mutex_lock(&c->lock);
    while ((!c->watch_synced || c->seen_kvrev < kvrev) && !atomic_load(&c->stop))
        if (pthread_cond_timedwait(&c->watch_cond, &c->lock, &ts) != 0)
            break;
    bool ok = c->watch_synced && c->seen_kvrev >= kvrev;
    pthread_mutex_unlock(&c->lock);
    return ok;
}

/* The bucket's last revision of the key, or 0 (committer thread). */
static uint64_t last_revision(struct vw_cluster *c)
{
    kvEntry *e = NULL;
    uint64_t rev = 0;
    if (kvStore_Get(&e, c->kv, STATE_KEY) == NATS_OK) {
        rev = kvEntry_Revision(e);
        kvEntry_Destroy(e);
    }
    return rev;
}

/* ---- the committer thread -------------------------------------------------------------- */

/* The answer to a proposal: an error, or the committed value (what it shows at at_ms). */
static void answer(struct vw_cluster *c, uint64_t ticket, const char *error,
                   const struct vw_state *st, int64_t at_ms)
{
    struct vw_store_result r = {.ticket = ticket, .error = error, .at_ms = at_ms};
    if (st) {
        r.revision = st->revision;
        r.showing = vw_xstrdup(vw_state_showing(st, at_ms));
        r.base = vw_xstrdup(st->base);
    }
    pthread_mutex_lock(&c->lock);
    c->results = vw_grow(c->results, c->nres, &c->capres, sizeof *c->results);
    c->results[c->nres++] = r;
    pthread_mutex_unlock(&c->lock);
    wake(c);
}

static bool connected(const struct vw_cluster *c)
{
    return c->nc && natsConnection_Status(c->nc) == NATS_CONN_STATUS_CONNECTED;
}

/* Whether the client is moving to another server after losing one, for at most RECONNECT_MS:
 * changes wait for it rather than fail. */
static bool moving_over(const struct vw_cluster *c)
{
    int64_t down = atomic_load(&c->down_since_ms);
    return atomic_load(&c->ever_connected) && c->nc &&
           natsConnection_Status(c->nc) == NATS_CONN_STATUS_RECONNECTING &&
           (down == 0 || vw_realtime_ms() - down < RECONNECT_MS);
}

/* Binds the bucket, making it when it is not there (committer thread, once connected). */
static bool setup_bucket(struct vw_cluster *c)
{
    if (!c->js) {
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = JS_WAIT_MS;
        if (natsConnection_JetStream(&c->js, c->nc, &jo) != NATS_OK)
            return false;
    }
    natsStatus s = js_KeyValue(&c->kv, c->js, c->name);
    if (s == NATS_NOT_FOUND) {
        kvConfig kc;
        kvConfig_Init(&kc);
        kc.Bucket = c->name;
        kc.Description = "vwall: what the wall shows";
        kc.History = 8;
        kc.StorageType = js_FileStorage;
        kc.Replicas = c->servers < 3 ? c->servers : 3; /* a copy on each of up to 3 servers */
        s = js_CreateKeyValue(&c->kv, c->js, &kc);
        if (s != NATS_OK) { /* fewer servers than replicas: one copy rather than none */
            kc.Replicas = 1;
            s = js_CreateKeyValue(&c->kv, c->js, &kc);
        }
        if (s == NATS_OK)
            vw_info("cluster: made bucket %s (%d replica%s)", c->name, kc.Replicas,
                    kc.Replicas == 1 ? "" : "s");
    }
    if (s != NATS_OK) {
        vw_warn("cluster: cannot open bucket %s: %s; trying again", c->name, last_error(s));
        c->kv = NULL;
        return false;
    }
    atomic_store(&c->kv_ready, true); /* the watch brings what shows now */
    vw_info("cluster: node %s joined bucket %s", c->node, c->name);
    return true;
}

/* Whether the chain's newest value is our proposal (lock held): a commit whose answer was lost
 * (a timeout while the servers chose a new leader) may have landed all the same. */
static bool landed_locked(const struct vw_cluster *c, const char *proposal)
{
    return c->have_latest && !strcmp(c->latest_proposal, proposal);
}

/* Commits one proposal: applies it to the chain's newest value and appends the result with a
 * compare-and-set, again after a lost race. While the servers fail over (a server gone, a new
 * stream leader being chosen) it keeps trying for FAILOVER_MS, so that losing one server of
 * three costs a command some time, not an error. */
static void commit_one(struct vw_cluster *c, struct proposal *p)
{
    char id[96];
    snprintf(id, sizeof id, "%s:%llu", c->node, (unsigned long long)p->ticket);
    int64_t deadline = vw_realtime_ms() + FAILOVER_MS;
    uint64_t need = 0; /* the bucket revision the watch must have brought before we try */
    int races = 0;
    int64_t stalled_since = 0; /* the watch has not brought `need` since then */
    while (races < CAS_ATTEMPTS && !atomic_load(&c->stop)) {
        if (vw_realtime_ms() > deadline)
            break;
        if (!connected(c) && !moving_over(c))
            break; /* no server at all: say so now, not at the deadline */
        if (!connected(c) || (!atomic_load(&c->kv_ready) && !setup_bucket(c))) {
            usleep(50 * 1000);
            continue;
        }
        if (!wait_for_watch(c, need, 250)) {
            /* The bucket has a value the watch does not bring: its consumer lived on a server
             * that went away. After a second of that, the watcher starts anew. */
            if (!stalled_since)
                stalled_since = vw_realtime_ms();
            else if (vw_realtime_ms() - stalled_since > 1000) {
                vw_warn("cluster: the watch of bucket %s is stuck; watching anew", c->name);
                atomic_store(&c->rewatch, true);
                stalled_since = 0;
            }
            continue;
        }
        stalled_since = 0;
        struct vw_state st;
        pthread_mutex_lock(&c->lock);
        if (landed_locked(c, id)) { /* an earlier try went through after all */
            vw_state_copy(&st, &c->latest);
            pthread_mutex_unlock(&c->lock);
            answer(c, p->ticket, NULL, &st, st.revision ? p->t->now_ms : 0);
            vw_state_finish(&st);
            return;
        }
        bool have = c->have_latest;
        uint64_t expected = c->seen_kvrev;
        if (have)
            vw_state_copy(&st, &c->latest);
        else
            vw_state_init(&st, c->base);
        pthread_mutex_unlock(&c->lock);

        p->t->now_ms = vw_realtime_ms() + c->lead_ms; /* what this change shows, and from when */
        const char *err = vw_state_apply(&st, p->t);
        if (err) {
            vw_state_finish(&st);
            answer(c, p->ticket, err, NULL, 0);
            return;
        }
        char hash[17];
        pthread_mutex_lock(&c->lock);
        snprintf(hash, sizeof hash, "%s", c->hash);
        pthread_mutex_unlock(&c->lock);
        char *text = value_text(&st, p->t->now_ms, hash, p->t->by, id);
        uint64_t rev = 0;
        natsStatus s = expected ? kvStore_UpdateString(&rev, c->kv, STATE_KEY, text, expected)
                                : kvStore_CreateString(&rev, c->kv, STATE_KEY, text);
        free(text);
        if (s == NATS_OK) {
            /* Taken into the chain, or skipped because another change came first? The watch
             * decides, the same way on every node. */
            bool known = wait_for_watch(c, rev, JS_WAIT_MS);
            pthread_mutex_lock(&c->lock);
            bool accepted = known && accepted_locked(c, rev);
            pthread_mutex_unlock(&c->lock);
            if (accepted || !known) { /* !known: committed, not yet seen; it is the chain's */
                answer(c, p->ticket, NULL, &st, p->t->now_ms);
                vw_state_finish(&st);
                return;
            }
            vw_debug("cluster: our change at bucket revision %llu came after another; again",
                     (unsigned long long)rev);
            vw_state_finish(&st);
            need = rev;
            races++;
            continue;
        }
        vw_state_finish(&st);
        /* A lost race (wrong last sequence), or the servers failing over: either way, wait for
         * the watch to bring what the bucket holds now, and look again. */
        uint64_t last = last_revision(c);
        if (last > expected) {
            vw_debug("cluster: lost a commit race (%s); retrying", last_error(s));
            need = last;
            races++;
        } else {
            vw_debug("cluster: commit not taken (%s); trying again", last_error(s));
            usleep(100 * 1000);
        }
    }
    vw_warn("cluster: a change by %s could not be committed within %d s", p->t->by ? p->t->by : "?",
            FAILOVER_MS / 1000);
    answer(c, p->ticket, "cluster_unavailable", NULL, 0);
}

static struct peer *find_peer(struct vw_cluster *c, const char *id)
{
    for (int i = 0; i < c->npeers; i++)
        if (!strcmp(c->peers[i].id, id))
            return &c->peers[i];
    return NULL;
}

/* NTP-style: our clock before and after, theirs in between (committer thread). */
static void measure_clocks(struct vw_cluster *c)
{
    for (int i = 0; i < c->npeers; i++) {
        pthread_mutex_lock(&c->lock);
        struct peer *p = &c->peers[i];
        bool ask = strcmp(p->id, c->node) != 0 && p->last_seen_ms &&
                   vw_realtime_ms() - p->last_seen_ms < ALIVE_MS;
        char subj[512];
        snprintf(subj, sizeof subj, "%s.clock.%s", c->name, p->id);
        pthread_mutex_unlock(&c->lock);
        if (!ask)
            continue;
        natsMsg *reply = NULL;
        int64_t t0 = vw_realtime_us();
        natsStatus s = natsConnection_RequestString(&reply, c->nc, subj, "clock", 250);
        int64_t t3 = vw_realtime_us();
        if (s != NATS_OK)
            continue;
        char buf[32];
        int n = natsMsg_GetDataLength(reply);
        snprintf(buf, sizeof buf, "%.*s", n < 31 ? n : 31, natsMsg_GetData(reply));
        natsMsg_Destroy(reply);
        char *end;
        long long t1 = strtoll(buf, &end, 10);
        if (end == buf)
            continue;
        pthread_mutex_lock(&c->lock);
        vw_clock_add(&p->clock, t0, (int64_t)t1, t3);
        int64_t offset = 0, rtt = 0;
        vw_clock_best(&p->clock, &offset, &rtt);
        bool far = vw_clock_out_of_step(&p->clock, CLOCK_WARN_US);
        if (far && !p->offset_warned)
            vw_warn("cluster: node %s's clock is %+.1f ms from ours (±%.1f ms, the fastest of the "
                    "last round trips); keep the nodes' clocks in step (chrony or linuxptp, "
                    "docs/cluster.md)",
                    p->id, offset / 1000.0, rtt / 2000.0);
        else if (!far && p->offset_warned)
            vw_info("cluster: node %s's clock is within %.1f ms of ours again", p->id,
                    offset / 1000.0);
        p->offset_warned = far;
        pthread_mutex_unlock(&c->lock);
    }
}

static void *committer_main(void *ud)
{
    struct vw_cluster *c = ud;
    int64_t last_clock = 0, last_sync = vw_realtime_ms();
    uint64_t synced = 0; /* the bucket revision the last sync read */
    char said[256] = ""; /* the last connection error logged */
    bool diagnosed = false;
    while (!atomic_load(&c->stop)) {
        if (!atomic_load(&c->kv_ready) && connected(c) && !setup_bucket(c)) {
            usleep(500 * 1000);
            continue;
        }
        pthread_mutex_lock(&c->lock);
        if (!c->nprops && !atomic_load(&c->stop)) {
            struct timespec ts = vw_realtime_after(250);
            pthread_cond_timedwait(&c->cond, &c->lock, &ts);
        }
        struct proposal *props = c->props;
        int n = c->nprops;
        c->props = NULL;
        c->nprops = c->capprops = 0;
        pthread_mutex_unlock(&c->lock);
        for (int i = 0; i < n; i++) {
            if (atomic_load(&c->stop))
                answer(c, props[i].ticket, "cluster_unavailable", NULL, 0);
            else
                commit_one(c, &props[i]);
            vw_transition_free(props[i].t);
        }
        free(props);
        int64_t now = vw_realtime_ms();
        if (atomic_load(&c->kv_ready) && connected(c) && now - last_sync >= SYNC_EVERY_MS) {
            /* The watch's safety net: revisions the bucket holds and the watch has not
             * brought are read one by one, in order (folded as the watch would: whichever
             * brings one first, it counts once); still behind at the next check, the watcher
             * starts anew (its consumer went with a server). */
            uint64_t last = last_revision(c);
            pthread_mutex_lock(&c->lock);
            uint64_t seen = c->seen_kvrev;
            pthread_mutex_unlock(&c->lock);
            bool behind = last > seen;
            for (uint64_t r = seen + 1; behind && r <= last && r <= seen + 16; r++) {
                /* In order, and no further than the first it cannot read (a request timed
                 * out): a later one taken first would make that one look old when it comes,
                 * and this node would skip a revision the others show (and its events). */
                kvEntry *e = NULL;
                natsStatus gs = kvStore_GetRevision(&e, c->kv, STATE_KEY, r);
                if (gs != NATS_OK) {
                    vw_info("cluster: bucket %s revision %llu, which the watch has not brought, "
                            "cannot be read (%s); trying again in %d ms",
                            c->name, (unsigned long long)r, last_error(gs), SYNC_EVERY_MS);
                    break;
                }
                vw_info("cluster: bucket %s revision %llu read by the safety net (the watch had "
                        "not brought it)",
                        c->name, (unsigned long long)r);
                took_entry(c, e);
                kvEntry_Destroy(e);
            }
            if (behind && last == synced) {
                vw_warn("cluster: the watch of bucket %s fell behind; watching anew", c->name);
                atomic_store(&c->rewatch, true);
            }
            synced = behind ? last : 0;
            last_sync = now;
        }
        if (!diagnosed && c->nc && natsConnection_Status(c->nc) == NATS_CONN_STATUS_CLOSED) {
            /* The client gave up (the same refusal twice): one plain attempt, to log the
             * server's own words ("Authorization Violation"). */
            diagnosed = true;
            natsConnection *probe = NULL;
            natsStatus ps = natsConnection_Connect(&probe, c->probe_opts);
            if (ps != NATS_OK)
                vw_err("cluster: node %s: the NATS servers refuse it: %s", c->node, last_error(ps));
            natsConnection_Destroy(probe);
        }
        if (!connected(c) && now - last_sync >= SYNC_EVERY_MS) {
            /* Why no server takes us (refused credentials, TLS), said once per new reason. */
            const char *why = NULL;
            if (c->nc && natsConnection_GetLastError(c->nc, &why) != NATS_OK && why && *why &&
                strcmp(why, said) != 0) {
                vw_err("cluster: node %s cannot join NATS: %s (check cluster.nats, user, "
                       "password, token, nkey, creds and tls)",
                       c->node, why);
                snprintf(said, sizeof said, "%s", why);
            }
            last_sync = now;
        }
        if (connected(c) && now - last_clock >= CLOCK_EVERY_MS) {
            measure_clocks(c);
            last_clock = now;
        }
    }
    return NULL;
}

/* ---- the watcher thread ---------------------------------------------------------------- */

static void *watcher_main(void *ud)
{
    struct vw_cluster *c = ud;
    kvWatcher *w = NULL;
    while (!atomic_load(&c->stop)) {
        if (!atomic_load(&c->kv_ready) || !connected(c)) {
            usleep(100 * 1000);
            continue;
        }
        if (w && atomic_exchange(&c->rewatch, false)) {
            kvWatcher_Stop(w);
            kvWatcher_Destroy(w);
            w = NULL;
        }
        if (!w) {
            /* With the key's history: a value the server let through on an old base may be
             * the last one; the chain before it decides what shows. */
            kvWatchOptions o;
            kvWatchOptions_Init(&o);
            o.IncludeHistory = true;
            if (kvStore_Watch(&w, c->kv, STATE_KEY, &o) != NATS_OK) {
                w = NULL;
                usleep(500 * 1000);
                continue;
            }
        }
        kvEntry *e = NULL;
        natsStatus s = kvWatcher_Next(&e, w, 200);
        if (s == NATS_OK) {
            if (e) {
                took_entry(c, e);
                kvEntry_Destroy(e);
            } else { /* the values the bucket held are all here */
                pthread_mutex_lock(&c->lock);
                c->watch_synced = true;
                pthread_cond_broadcast(&c->watch_cond);
                pthread_mutex_unlock(&c->lock);
            }
        } else if (s != NATS_TIMEOUT) {
            /* The watch broke (servers gone and back): start a new one. */
            kvWatcher_Destroy(w);
            w = NULL;
            usleep(200 * 1000);
        }
    }
    if (w) {
        kvWatcher_Stop(w);
        kvWatcher_Destroy(w);
    }
    return NULL;
}

/* ---- subscriptions (NATS's threads) ---------------------------------------------------- */

static void on_beat(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *ud)
{
    struct vw_cluster *c = ud;
    cJSON *beat = cJSON_ParseWithLength(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg));
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(beat, "id");
    if (cJSON_IsString(id)) {
        pthread_mutex_lock(&c->lock);
        struct peer *p = find_peer(c, id->valuestring);
        if (p) {
            cJSON_Delete(p->beat);
            p->beat = beat;
            p->last_seen_ms = vw_realtime_ms();
            beat = NULL;
        }
        pthread_mutex_unlock(&c->lock);
    }
    cJSON_Delete(beat);
    natsMsg_Destroy(msg);
}

static void on_clock(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *ud)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)vw_realtime_us());
    if (natsMsg_GetReply(msg))
        natsConnection_PublishString(nc, natsMsg_GetReply(msg), buf);
    natsMsg_Destroy(msg);
}

static void on_connected(natsConnection *nc, void *ud)
{
    struct vw_cluster *c = ud;
    atomic_store(&c->ever_connected, true);
    vw_info("cluster: node %s connected to NATS", c->node);
}

static void on_disconnected(natsConnection *nc, void *ud)
{
    struct vw_cluster *c = ud;
    if (atomic_load(&c->stop))
        return; /* we closed it */
    atomic_store(&c->down_since_ms, vw_realtime_ms());
    vw_warn("cluster: node %s lost NATS; showing the last state, changes refused until it is "
            "back",
            c->node);
}

static void on_closed(natsConnection *nc, void *ud)
{
    struct vw_cluster *c = ud;
    if (atomic_load(&c->stop))
        return;
    const char *why = NULL;
    natsConnection_GetLastError(nc, &why);
    vw_err("cluster: NATS closed node %s's connection for good: %s (check cluster.user, "
           "password, token, nkey, creds and tls)",
           c->node, why && *why ? why : "no reason given");
}

/* Errors the server sends while connected or connecting ("Authorization Violation"), said
 * once per new text. */
static void on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *ud)
{
    struct vw_cluster *c = ud;
    const char *why = NULL;
    natsConnection_GetLastError(nc, &why);
    vw_err("cluster: node %s: NATS says: %s", c->node, why && *why ? why : natsStatus_GetText(err));
}

static void on_reconnected(natsConnection *nc, void *ud)
{
    struct vw_cluster *c = ud;
    atomic_store(&c->down_since_ms, 0);
    vw_info("cluster: node %s reconnected to NATS", c->node);
}

static void on_ask(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *ud)
{
    struct vw_cluster *c = ud;
    const char *reply = natsMsg_GetReply(msg);
    const char *data = natsMsg_GetData(msg);
    int len = natsMsg_GetDataLength(msg);
    const char *nl = memchr(data, '\n', (size_t)len);
    if (reply && strlen(reply) < sizeof c->asked[0].reply) {
        struct vw_cluster_ask a = {0};
        int wl = nl ? (int)(nl - data) : len;
        snprintf(a.what, sizeof a.what, "%.*s", wl, data);
        snprintf(a.reply, sizeof a.reply, "%s", reply);
        a.payload = nl ? strndup(nl + 1, (size_t)(len - wl - 1)) : vw_xstrdup("");
        pthread_mutex_lock(&c->lock);
        c->asked = vw_grow(c->asked, c->nasked, &c->capasked, sizeof *c->asked);
        c->asked[c->nasked++] = a;
        pthread_mutex_unlock(&c->lock);
        wake(c);
    }
    natsMsg_Destroy(msg);
}

static void *ask_main(void *ud)
{
    struct ask_job *j = ud;
    struct vw_cluster *c = j->c;
    size_t plen = strlen(j->what) + 1 + (j->payload ? strlen(j->payload) : 0);
    char *body = malloc(plen + 1);
    if (!body)
        abort();
    snprintf(body, plen + 1, "%s\n%s", j->what, j->payload ? j->payload : "");
    j->answers = calloc((size_t)c->npeers + 1, sizeof *j->answers);
    if (!j->answers)
        abort();
    /* One request to each at once, answers gathered as they come: a dead node costs the
     * timeout once, not once per node. */
    natsInbox *inbox = NULL;
    natsSubscription *sub = NULL;
    natsStatus s = natsInbox_Create(&inbox);
    if (s == NATS_OK)
        s = natsConnection_SubscribeSync(&sub, c->nc, inbox);
    int asked = 0;
    for (int i = 0; i < c->npeers; i++) {
        if (!strcmp(c->peers[i].id, c->node))
            continue;
        struct vw_cluster_answer *a = &j->answers[j->count++];
        snprintf(a->node, sizeof a->node, "%s", c->peers[i].id);
        char subj[512];
        snprintf(subj, sizeof subj, "%s.ask.%s", c->name, c->peers[i].id);
        pthread_mutex_lock(&c->lock);
        /* Known dead (heard, then silent): not asked. Never heard yet (it or we just
         * started): asked all the same. */
        bool alive =
            !c->peers[i].last_seen_ms || vw_realtime_ms() - c->peers[i].last_seen_ms < ALIVE_MS;
        pthread_mutex_unlock(&c->lock);
        if (alive && s == NATS_OK &&
            natsConnection_PublishRequest(c->nc, subj, inbox, body, (int)plen) == NATS_OK)
            asked++;
    }
    int64_t end = vw_realtime_ms() + j->timeout_ms;
    while (s == NATS_OK && asked > 0 && !atomic_load(&c->stop)) {
        int64_t left = end - vw_realtime_ms();
        if (left <= 0)
            break;
        natsMsg *m = NULL;
        if (natsSubscription_NextMsg(&m, sub, left < 200 ? left : 200) != NATS_OK)
            continue;
        /* an answer is "NODE\n" then the data */
        const char *d = natsMsg_GetData(m);
        int len = natsMsg_GetDataLength(m);
        const char *nl = memchr(d, '\n', (size_t)len);
        for (int k = 0; nl && k < j->count; k++) {
            struct vw_cluster_answer *a = &j->answers[k];
            if (a->ok || strlen(a->node) != (size_t)(nl - d) ||
                memcmp(a->node, d, (size_t)(nl - d)))
                continue;
            a->len = len - (int)(nl - d) - 1;
            a->data = malloc((size_t)a->len + 1);
            if (!a->data)
                abort();
            memcpy(a->data, nl + 1, (size_t)a->len);
            ((char *)a->data)[a->len] = '\0';
            a->ok = true;
            asked--;
        }
        natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(sub);
    natsInbox_Destroy(inbox);
    free(body);
    atomic_store(&j->finished, true);
    wake(c);
    return NULL;
}

void vw_cluster_ask_others(struct vw_cluster *c, const char *what, const char *payload,
                           int timeout_ms, vw_cluster_asked_fn done, void *ud)
{
    struct ask_job *j = calloc(1, sizeof *j);
    if (!j)
        abort();
    j->c = c;
    snprintf(j->what, sizeof j->what, "%s", what);
    j->payload = payload ? vw_xstrdup(payload) : NULL;
    j->timeout_ms = timeout_ms;
    j->done = done;
    j->ud = ud;
    if (pthread_create(&j->thread, NULL, ask_main, j) != 0) {
        j->answers = calloc(1, sizeof *j->answers); /* nobody asked: every node unanswered */
        atomic_store(&j->finished, true);
        j->thread = pthread_self();
    }
    c->jobs = vw_grow(c->jobs, c->njobs, &c->capjobs, sizeof *c->jobs);
    c->jobs[c->njobs++] = j;
}

static void free_job(struct ask_job *j)
{
    for (int k = 0; k < j->count; k++)
        free(j->answers[k].data);
    free(j->answers);
    free(j->payload);
    free(j);
}

bool vw_cluster_poll(struct vw_cluster *c, struct vw_cluster_ask *out)
{
    for (int i = 0; i < c->njobs; i++) {
        struct ask_job *j = c->jobs[i];
        if (!atomic_load(&j->finished))
            continue;
        if (!pthread_equal(j->thread, pthread_self()))
            pthread_join(j->thread, NULL);
        c->jobs[i--] = c->jobs[--c->njobs];
        j->done(j->ud, j->answers, j->count);
        free_job(j);
    }
    pthread_mutex_lock(&c->lock);
    bool any = c->nasked > 0;
    if (any) {
        *out = c->asked[0];
        memmove(c->asked, c->asked + 1, (size_t)(c->nasked - 1) * sizeof *c->asked);
        c->nasked--;
    }
    pthread_mutex_unlock(&c->lock);
    return any;
}

void vw_cluster_reply(struct vw_cluster *c, const char *reply, const void *data, int len)
{
    size_t nl = strlen(c->node);
    char *body = malloc(nl + 1 + (size_t)len);
    if (!body)
        abort();
    memcpy(body, c->node, nl);
    body[nl] = '\n';
    memcpy(body + nl + 1, data, (size_t)len);
    natsStatus s = natsConnection_Publish(c->nc, reply, body, (int)(nl + 1 + (size_t)len));
    if (s != NATS_OK)
        vw_warn("cluster: cannot answer another node (%d bytes): %s", len, last_error(s));
    free(body);
}

/* ---- the store backend (main thread) --------------------------------------------------- */

static bool be_propose(void *ud, uint64_t ticket, const struct vw_transition *t)
{
    struct vw_cluster *c = ud;
    /* Refused at once when no server was ever reached, or none for longer than a fail-over
     * takes; while the client moves to another server the proposal waits. */
    if (!connected(c) && !moving_over(c))
        return false;
    pthread_mutex_lock(&c->lock);
    c->props = vw_grow(c->props, c->nprops, &c->capprops, sizeof *c->props);
    c->props[c->nprops++] = (struct proposal){.ticket = ticket, .t = vw_transition_dup(t)};
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return true;
}

static bool be_take_value(void *ud, struct vw_store_value *out)
{
    struct vw_cluster *c = ud;
    pthread_mutex_lock(&c->lock);
    bool any = c->nval > 0;
    if (any) {
        *out = c->values[0];
        memmove(c->values, c->values + 1, (size_t)(c->nval - 1) * sizeof *c->values);
        c->nval--;
    }
    pthread_mutex_unlock(&c->lock);
    return any;
}

static bool be_take_result(void *ud, struct vw_store_result *out)
{
    struct vw_cluster *c = ud;
    pthread_mutex_lock(&c->lock);
    bool any = c->nres > 0;
    if (any) {
        *out = c->results[0];
        memmove(c->results, c->results + 1, (size_t)(c->nres - 1) * sizeof *c->results);
        c->nres--;
    }
    pthread_mutex_unlock(&c->lock);
    return any;
}

static void be_destroy(void *ud)
{
    (void)ud; /* the cluster outlives its store: vw_cluster_destroy */
}

struct vw_store_backend vw_cluster_backend(struct vw_cluster *c)
{
    return (struct vw_store_backend){.ud = c,
                                     .propose = be_propose,
                                     .take_value = be_take_value,
                                     .take_result = be_take_result,
                                     .destroy = be_destroy};
}

/* ---- life --------------------------------------------------------------------------------- */

/* The client's options: `retry` for the node's connection (in the background, for ever);
 * without, for one plain attempt that says why the servers refuse us. */
static natsOptions *make_options(struct vw_cluster *c, const struct vw_cluster_cfg *cl, bool retry,
                                 struct vw_errors *errs)
{
    natsOptions *o = NULL;
    natsStatus s = natsOptions_Create(&o);
    char name[128];
    snprintf(name, sizeof name, "vwall %s/%s", c->name, c->node);
    bool tls = cl->tls_ca || cl->tls_cert;
    for (int i = 0; i < cl->nats_count; i++)
        tls |= !strncmp(cl->nats[i], "tls://", 6);
    if (s == NATS_OK)
        s = natsOptions_SetServers(o, (const char **)cl->nats, cl->nats_count);
    if (s == NATS_OK)
        s = natsOptions_SetName(o, name);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(o, retry ? -1 : 0); /* forever: NATS comes back */
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(o, 250);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(o, 1000);
    if (s == NATS_OK)
        s = natsOptions_SetPingInterval(o, 1000); /* notice a hung server within seconds */
    if (s == NATS_OK)
        s = natsOptions_SetMaxPingsOut(o, 2);
    if (s == NATS_OK && retry)
        s = natsOptions_SetRetryOnFailedConnect(o, true, on_connected, c);
    if (s == NATS_OK && retry)
        s = natsOptions_SetDisconnectedCB(o, on_disconnected, c);
    if (s == NATS_OK && retry)
        s = natsOptions_SetReconnectedCB(o, on_reconnected, c);
    if (s == NATS_OK && retry)
        s = natsOptions_SetClosedCB(o, on_closed, c);
    if (s == NATS_OK && retry)
        s = natsOptions_SetErrorHandler(o, on_async_error, c);
    if (s == NATS_OK && cl->user)
        s = natsOptions_SetUserInfo(o, cl->user, cl->password);
    if (s == NATS_OK && cl->token)
        s = natsOptions_SetToken(o, cl->token);
    if (s == NATS_OK && cl->nkey_seed)
        s = natsOptions_SetNKeyFromSeed(o, cl->nkey, cl->nkey_seed);
    if (s == NATS_OK && cl->creds)
        s = natsOptions_SetUserCredentialsFromFiles(o, cl->creds, NULL);
    if (s == NATS_OK && tls)
        s = natsOptions_SetSecure(o, true);
    if (s == NATS_OK && cl->tls_ca)
        s = natsOptions_LoadCATrustedCertificates(o, cl->tls_ca);
    if (s == NATS_OK && cl->tls_cert)
        s = natsOptions_LoadCertificatesChain(o, cl->tls_cert, cl->tls_key);
    if (s != NATS_OK) {
        vw_errors_add(errs, "cluster: %s", last_error(s));
        natsOptions_Destroy(o);
        return NULL;
    }
    return o;
}

struct vw_cluster *vw_cluster_create(const struct vw_config *cfg, const char *node,
                                     const char *base, int wake_fd, struct vw_errors *errs)
{
    const struct vw_cluster_cfg *cl = &cfg->cluster;
    struct vw_cluster *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->name = vw_xstrdup(cl->name);
    c->node = vw_xstrdup(node);
    c->base = vw_xstrdup(base);
    snprintf(c->hash, sizeof c->hash, "%s", cfg->hash);
    c->lead_ms = cl->lead_ms;
    c->servers = cl->nats_count;
    c->wake_fd = wake_fd;
    char subj[512];
    snprintf(subj, sizeof subj, "%s.node.*", c->name);
    c->subj_beat = vw_xstrdup(subj);
    snprintf(subj, sizeof subj, "%s.clock.%s", c->name, c->node);
    c->subj_clock = vw_xstrdup(subj);
    snprintf(subj, sizeof subj, "%s.ask.%s", c->name, c->node);
    c->subj_ask = vw_xstrdup(subj);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    pthread_cond_init(&c->watch_cond, NULL);
    c->peers = calloc((size_t)cl->node_count + 1, sizeof *c->peers);
    if (!c->peers)
        abort();
    for (int i = 0; i < cl->node_count; i++) {
        c->peers[i].id = vw_xstrdup(cl->nodes[i].id);
        c->peers[i].panels = vw_xstrdup(cl->nodes[i].panels);
    }
    c->npeers = cl->node_count;

    c->opts = make_options(c, cl, true, errs);
    c->probe_opts = c->opts ? make_options(c, cl, false, errs) : NULL;
    if (!c->probe_opts) {
        vw_cluster_destroy(c);
        return NULL;
    }
    natsStatus s = natsConnection_Connect(&c->nc, c->opts);
    if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
        vw_errors_add(errs, "cluster: cannot connect to NATS: %s", last_error(s));
        vw_cluster_destroy(c);
        return NULL;
    }
    if (s == NATS_OK)
        atomic_store(&c->ever_connected, true);
    if (s == NATS_NOT_YET_CONNECTED)
        vw_warn("cluster: no NATS server answers yet (%s...); node %s shows its last state and "
                "keeps trying",
                cl->nats[0], c->node);
    if (natsConnection_Subscribe(&c->beat_sub, c->nc, c->subj_beat, on_beat, c) != NATS_OK ||
        natsConnection_Subscribe(&c->clock_sub, c->nc, c->subj_clock, on_clock, c) != NATS_OK ||
        natsConnection_Subscribe(&c->ask_sub, c->nc, c->subj_ask, on_ask, c) != NATS_OK) {
        /* The servers closed the connection (refused credentials, say): the wall runs on,
         * alone, and says why (on_closed logged the server's words). */
        vw_err("cluster: node %s is not part of the cluster: %s; it shows its last state and "
               "refuses changes until restarted with working settings",
               c->node, last_error(NATS_ERR));
    }
    if (pthread_create(&c->committer, NULL, committer_main, c) != 0 ||
        (pthread_create(&c->watcher, NULL, watcher_main, c) != 0 &&
         (atomic_store(&c->stop, true), pthread_join(c->committer, NULL), true))) {
        vw_errors_add(errs, "cluster: cannot start its threads");
        vw_cluster_destroy(c);
        return NULL;
    }
    c->threads_started = true;
    return c;
}

void vw_cluster_destroy(struct vw_cluster *c)
{
    if (!c)
        return;
    atomic_store(&c->stop, true);
    if (c->threads_started) {
        pthread_mutex_lock(&c->lock);
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->committer, NULL);
        pthread_join(c->watcher, NULL);
    }
    for (int i = 0; i < c->njobs; i++) { /* asks nobody will hear the end of */
        if (!pthread_equal(c->jobs[i]->thread, pthread_self()))
            pthread_join(c->jobs[i]->thread, NULL);
        free_job(c->jobs[i]);
    }
    free(c->jobs);
    /* The connection closes first; NATS's own threads may still run a callback with c, so c
     * is freed only once the library has stopped them all. */
    if (c->nc)
        natsConnection_Close(c->nc);
    natsSubscription_Destroy(c->beat_sub);
    natsSubscription_Destroy(c->clock_sub);
    natsSubscription_Destroy(c->ask_sub);
    kvStore_Destroy(c->kv);
    jsCtx_Destroy(c->js);
    natsConnection_Destroy(c->nc);
    natsOptions_Destroy(c->opts);
    natsOptions_Destroy(c->probe_opts);
    nats_CloseAndWait(2000);
    for (int i = 0; i < c->nasked; i++)
        free(c->asked[i].payload);
    free(c->asked);
    for (int i = 0; i < c->nprops; i++)
        vw_transition_free(c->props[i].t);
    free(c->props);
    for (int i = 0; i < c->nres; i++) {
        free(c->results[i].showing);
        free(c->results[i].base);
    }
    free(c->results);
    for (int i = 0; i < c->nval; i++)
        vw_state_finish(&c->values[i].state);
    free(c->values);
    if (c->have_latest)
        vw_state_finish(&c->latest);
    for (int i = 0; i < c->npeers; i++) {
        free(c->peers[i].id);
        free(c->peers[i].panels);
        cJSON_Delete(c->peers[i].beat);
    }
    free(c->peers);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    pthread_cond_destroy(&c->watch_cond);
    free(c->name);
    free(c->node);
    free(c->base);
    free(c->subj_beat);
    free(c->subj_clock);
    free(c->subj_ask);
    free(c);
}

bool vw_cluster_connected(const struct vw_cluster *c)
{
    return connected(c);
}

const char *vw_cluster_node(const struct vw_cluster *c)
{
    return c->node;
}

bool vw_cluster_beat_due(const struct vw_cluster *c)
{
    return vw_realtime_ms() - c->last_beat_ms >= BEAT_EVERY_MS;
}

void vw_cluster_heartbeat(struct vw_cluster *c, cJSON *beat)
{
    int64_t now = vw_realtime_ms();
    if (now - c->last_beat_ms < BEAT_EVERY_MS) {
        cJSON_Delete(beat);
        return;
    }
    c->last_beat_ms = now;
    cJSON_AddStringToObject(beat, "id", c->node);
    pthread_mutex_lock(&c->lock);
    cJSON_AddStringToObject(beat, "config_hash", c->hash);
    pthread_mutex_unlock(&c->lock);
    cJSON_AddNumberToObject(beat, "sent_ms", (double)now);
    char *text = cJSON_PrintUnformatted(beat);
    if (text && connected(c)) {
        char subj[512];
        snprintf(subj, sizeof subj, "%s.node.%s", c->name, c->node);
        natsConnection_PublishString(c->nc, subj, text); /* buffered: never waits */
    }
    free(text);
    /* Our own entry, also while NATS is away. */
    pthread_mutex_lock(&c->lock);
    struct peer *self = find_peer(c, c->node);
    if (self) {
        cJSON_Delete(self->beat);
        self->beat = beat;
        self->last_seen_ms = now;
        beat = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    cJSON_Delete(beat);
}

static const cJSON *beat_item(const struct peer *p, const char *key)
{
    return p->beat ? cJSON_GetObjectItemCaseSensitive(p->beat, key) : NULL;
}

static void add_copy(cJSON *o, const char *key, const cJSON *v)
{
    cJSON_AddItemToObject(o, key, v ? cJSON_Duplicate(v, true) : cJSON_CreateNull());
}

/* The wall file every node should have (lock held): the one most live nodes have, by their
 * heartbeats; on a tie, the one the shared state was committed with. A node whose file differs
 * is the odd one out, whoever committed last. */
static const char *reference_hash_locked(const struct vw_cluster *c, const char *state_hash)
{
    int64_t now = vw_realtime_ms();
    const char *best = NULL;
    int best_n = 0;
    bool tie = false;
    for (int i = 0; i < c->npeers; i++) {
        const cJSON *h = beat_item(&c->peers[i], "config_hash");
        if (!cJSON_IsString(h) || now - c->peers[i].last_seen_ms >= ALIVE_MS)
            continue;
        int n = 0;
        for (int j = 0; j < c->npeers; j++) {
            const cJSON *o = beat_item(&c->peers[j], "config_hash");
            n += cJSON_IsString(o) && now - c->peers[j].last_seen_ms < ALIVE_MS &&
                 !strcmp(o->valuestring, h->valuestring);
        }
        if (n > best_n) {
            best = h->valuestring;
            best_n = n;
            tie = false;
        } else if (n == best_n && strcmp(best, h->valuestring) != 0) {
            tie = true;
        }
    }
    /* A majority needs two nodes at least: a node that hears nobody else yet (just started)
     * goes by the state's hash, as on a tie; with no state yet either, there is no verdict
     * (one node heard is not the wall: a node just started would judge by whichever peer's
     * heartbeat came first, and change its mind with the next). */
    if (!best || best_n < 2 || tie)
        return state_hash && *state_hash ? state_hash : NULL;
    return best;
}

bool vw_cluster_mismatch(struct vw_cluster *c, const char *state_hash)
{
    pthread_mutex_lock(&c->lock);
    const char *ref = reference_hash_locked(c, state_hash);
    bool differs = ref && strcmp(ref, c->hash) != 0;
    pthread_mutex_unlock(&c->lock);
    return differs;
}

void vw_cluster_set_hash(struct vw_cluster *c, const char *hash)
{
    pthread_mutex_lock(&c->lock);
    snprintf(c->hash, sizeof c->hash, "%s", hash);
    pthread_mutex_unlock(&c->lock);
    c->last_beat_ms = 0; /* the others hear of it with the next tick's heartbeat */
}

cJSON *vw_cluster_nodes_json(struct vw_cluster *c, const char *state_hash)
{
    cJSON *list = cJSON_CreateArray();
    int64_t now = vw_realtime_ms();
    pthread_mutex_lock(&c->lock);
    const char *ref = reference_hash_locked(c, state_hash);
    for (int i = 0; i < c->npeers; i++) {
        const struct peer *p = &c->peers[i];
        bool self = !strcmp(p->id, c->node);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", p->id);
        cJSON_AddStringToObject(o, "panels", p->panels);
        cJSON_AddBoolToObject(o, "self", self);
        cJSON_AddBoolToObject(o, "alive",
                              self || (p->last_seen_ms && now - p->last_seen_ms < ALIVE_MS));
        if (p->last_seen_ms)
            cJSON_AddNumberToObject(o, "last_seen_ms", (double)p->last_seen_ms);
        else
            cJSON_AddNullToObject(o, "last_seen_ms");
        add_copy(o, "render_fps", beat_item(p, "render_fps"));
        add_copy(o, "frames_dropped", beat_item(p, "frames_dropped"));
        add_copy(o, "latency_p99_ms", beat_item(p, "latency_p99_ms"));
        int64_t offset, rtt;
        if (self) {
            cJSON_AddNumberToObject(o, "clock_offset_ms", 0);
            cJSON_AddNumberToObject(o, "clock_rtt_ms", 0);
        } else if (vw_clock_best(&p->clock, &offset, &rtt)) {
            cJSON_AddNumberToObject(o, "clock_offset_ms", (double)offset / 1000.0);
            cJSON_AddNumberToObject(o, "clock_rtt_ms", (double)rtt / 1000.0);
        } else {
            cJSON_AddNullToObject(o, "clock_offset_ms");
            cJSON_AddNullToObject(o, "clock_rtt_ms");
        }
        const cJSON *h = beat_item(p, "config_hash");
        bool mismatch = cJSON_IsString(h) && ref && strcmp(h->valuestring, ref) != 0;
        cJSON_AddBoolToObject(o, "config_mismatch", mismatch);
        cJSON_AddItemToArray(list, o);
    }
    pthread_mutex_unlock(&c->lock);
    return list;
}

cJSON *vw_cluster_source_nodes(struct vw_cluster *c, const char *id)
{
    cJSON *list = NULL;
    int64_t now = vw_realtime_ms();
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < c->npeers; i++) {
        const struct peer *p = &c->peers[i];
        if (!strcmp(p->id, c->node) || !p->last_seen_ms || now - p->last_seen_ms >= ALIVE_MS)
            continue;
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(beat_item(p, "sources"), id);
        if (!cJSON_IsString(st))
            continue;
        if (!list)
            list = cJSON_CreateArray();
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "node", p->id);
        cJSON_AddStringToObject(o, "state", st->valuestring);
        cJSON_AddItemToArray(list, o);
    }
    pthread_mutex_unlock(&c->lock);
    return list;
}

uint64_t vw_cluster_mismatch_mask(struct vw_cluster *c, const char *state_hash)
{
    uint64_t mask = 0;
    pthread_mutex_lock(&c->lock);
    const char *ref = reference_hash_locked(c, state_hash);
    for (int i = 0; ref && i < c->npeers && i < 64; i++) {
        const cJSON *h = beat_item(&c->peers[i], "config_hash");
        if (cJSON_IsString(h) && strcmp(h->valuestring, ref) != 0)
            mask |= 1ull << i;
    }
    pthread_mutex_unlock(&c->lock);
    return mask;
}
