/* The wall state (base, incident stack, picks, saved scenes, revision) and its local store:
 * transitions, what shows at a time, the picks rule, JSON round trips, retain after a reload,
 * the state file (written atomically, restored, refused when it is not ours), and a shared
 * store's adoption of committed values at their moment. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "state/store.h"
#include "state/wallstate.h"

static struct vw_transition T(enum vw_transition_kind k, int64_t now, const char *scene) {
    return (struct vw_transition){.kind = k, .now_ms = now, .scene = scene, .by = "test"};
}

static const char *
apply(struct vw_state *st, struct vw_transition t)
{
    return vw_state_apply(st, &t);
}

static const char *commit(struct vw_store *s, struct vw_transition t)
{
    uint64_t ticket;
    return vw_store_commit(s, &t, &ticket);
}

static void test_stack(void)
{
    struct vw_state st;
    vw_state_init(&st, "overview");
    CHECK_STR(vw_state_showing(&st, 0), "overview");
    CHECK(st.revision == 0);

    /* An incident push shows at once; a higher one covers it; ttl 0 never expires. */
    struct vw_transition t = T(VW_T_PUSH, 100000, "fire");
    t.priority = 5;
    t.ttl_ms = 10000;
    CHECK(vw_state_apply(&st, &t) == NULL);
    CHECK_STR(vw_state_showing(&st, 100000), "fire");
    t = T(VW_T_PUSH, 101000, "riot");
    t.priority = 9;
    CHECK(vw_state_apply(&st, &t) == NULL);
    CHECK_STR(vw_state_showing(&st, 101000), "riot");
    /* A push below the priority showing waits its turn without showing. */
    t = T(VW_T_PUSH, 102000, "flood");
    t.priority = 1;
    t.ttl_ms = 2000;
    CHECK(vw_state_apply(&st, &t) == NULL);
    CHECK_STR(vw_state_showing(&st, 102000), "riot");
    CHECK(vw_state_next_expiry(&st, 102000) == 104000);
    CHECK(st.revision == 3);

    /* What shows is a function of time: flood expires unseen at 104 s, fire at 110 s. */
    CHECK(vw_state_prune(&st, 104500));
    CHECK(st.stack_count == 2);
    CHECK(st.revision == 3); /* pruning is no transition */
    CHECK(vw_state_apply(&st, &(struct vw_transition){
                                  .kind = VW_T_POP, .now_ms = 105000, .scene = "riot"}) == NULL);
    CHECK_STR(vw_state_showing(&st, 105000), "fire");
    CHECK_STR(apply(&st, T(VW_T_POP, 105000, "riot")), "not_pushed");
    CHECK_STR(vw_state_showing(&st, 109999), "fire");
    CHECK_STR(vw_state_showing(&st, 110000), "overview"); /* expired, not yet pruned */
    CHECK_STR(apply(&st, T(VW_T_POP, 110000, "fire")), "not_pushed");
    CHECK(vw_state_next_expiry(&st, 110000) == 0);

    /* Equal priority: the later push shows; pushing again replaces the entry. */
    vw_state_prune(&st, 110000);
    t = T(VW_T_PUSH, 200000, "fire");
    t.priority = 3;
    vw_state_apply(&st, &t);
    t.scene = "riot";
    t.now_ms = 201000;
    vw_state_apply(&st, &t);
    CHECK_STR(vw_state_showing(&st, 201000), "riot");
    t.scene = "fire";
    t.now_ms = 202000;
    vw_state_apply(&st, &t);
    CHECK_STR(vw_state_showing(&st, 202000), "fire");
    CHECK(st.stack_count == 2);
    /* clear: every push goes */
    CHECK(apply(&st, T(VW_T_CLEAR, 203000, NULL)) == NULL);
    CHECK(st.stack_count == 0);
    CHECK_STR(vw_state_showing(&st, 203000), "overview");
    vw_state_finish(&st);
}

static struct vw_transition assign(int64_t now, const char *scene, int tile, const char *source)
{
    struct vw_transition t = T(VW_T_ASSIGN, now, scene);
    t.pick = (struct vw_state_pick){.tile = tile, .source = (char *)source};
    return t;
}

static void test_picks(void)
{
    struct vw_state st;
    vw_state_init(&st, "overview");
    vw_state_apply(&st, &(struct vw_transition){.kind = VW_T_ASSIGN,
                                                .now_ms = 1000,
                                                .scene = "overview",
                                                .by = "operator-1",
                                                .pick = {.tile = 2, .source = "cam7"}});
    struct vw_transition a = assign(1000, "overview", 0, "cam9");
    vw_state_apply(&st, &a);
    const struct vw_state_pick *p = vw_state_pick(&st, "overview", 2);
    CHECK(p && strcmp(p->source, "cam7") == 0 && strcmp(p->by, "operator-1") == 0);
    CHECK(vw_state_picks(&st, "overview")->picks[0].tile == 0); /* sorted by tile */

    /* An incident over the scene leaves its picks; pop and expiry bring them back. */
    struct vw_transition push = T(VW_T_PUSH, 2000, "fire");
    push.ttl_ms = 3000;
    vw_state_apply(&st, &push);
    CHECK_STR(vw_state_showing(&st, 2000), "fire");
    apply(&st, assign(2100, "fire", 1, "cam3"));
    CHECK(vw_state_pick(&st, "fire", 1) != NULL);
    vw_state_prune(&st, 5000); /* fire expired: its picks go with it */
    CHECK_STR(vw_state_showing(&st, 5000), "overview");
    CHECK(vw_state_pick(&st, "overview", 2) != NULL);
    CHECK(vw_state_pick(&st, "fire", 1) == NULL);
    vw_state_apply(&st, &push);
    apply(&st, T(VW_T_POP, 2500, "fire"));
    CHECK(vw_state_pick(&st, "overview", 0) != NULL);
    vw_state_apply(&st, &push);
    apply(&st, T(VW_T_CLEAR, 2500, NULL));
    CHECK(vw_state_pick(&st, "overview", 0) != NULL);

    /* Switching to the same base keeps them; to another base and back drops them. */
    apply(&st, T(VW_T_SWITCH, 3000, "overview"));
    CHECK(vw_state_pick(&st, "overview", 0) != NULL);
    apply(&st, T(VW_T_SWITCH, 3000, "north"));
    apply(&st, T(VW_T_SWITCH, 3000, "overview"));
    CHECK(vw_state_picks(&st, "overview") == NULL);

    /* A pushed base scene keeps its picks when the base moves away. */
    apply(&st, assign(4000, "overview", 1, "cam1"));
    struct vw_transition pb = T(VW_T_PUSH, 4000, "overview");
    vw_state_apply(&st, &pb);
    apply(&st, T(VW_T_SWITCH, 4000, "north"));
    CHECK(vw_state_pick(&st, "overview", 1) != NULL);

    /* swap sets both tiles at once (one revision); reset one, then all */
    uint64_t rev = st.revision;
    struct vw_transition sw = T(VW_T_SWAP, 5000, "north");
    sw.pick = (struct vw_state_pick){.tile = 0, .source = "b"};
    sw.pick_b = (struct vw_state_pick){.tile = 1, .source = "a"};
    CHECK(vw_state_apply(&st, &sw) == NULL);
    CHECK(st.revision == rev + 1);
    CHECK_STR(vw_state_pick(&st, "north", 0)->source, "b");
    CHECK_STR(vw_state_pick(&st, "north", 1)->source, "a");
    struct vw_transition r = T(VW_T_RESET, 5000, "north");
    r.pick.tile = 0;
    CHECK(vw_state_apply(&st, &r) == NULL);
    CHECK(vw_state_pick(&st, "north", 0) == NULL);
    CHECK_STR(vw_state_apply(&st, &r), "bad_tile");
    r.pick.tile = -1;
    CHECK(vw_state_apply(&st, &r) == NULL);
    CHECK(vw_state_picks(&st, "north") == NULL);
    vw_state_finish(&st);
}

static void test_saved_json_retain(void)
{
    struct vw_state st;
    vw_state_init(&st, "overview");
    struct vw_state_tile tiles[2] = {
        {.id = "big", .rect = {0, 0, 2, 1}, .fit = VW_FIT_FILL, .label = true, .source = "cam1"},
        {.rect = {2, 0, 1, 1}, .source = "adhoc-1", .url = "rtsp://127.0.0.1/x", .name = "临时"},
    };
    struct vw_state_saved sv = {.id = "night", .name = "夜间", .tiles = tiles, .tile_count = 2};
    struct vw_transition t = T(VW_T_SAVE, 7000, "night");
    t.saved = &sv;
    CHECK(vw_state_apply(&st, &t) == NULL);
    const struct vw_state_saved *got = vw_state_find_saved(&st, "night");
    CHECK(got && got->tile_count == 2 && got->saved_at_ms == 7000);
    CHECK(got && strcmp(got->tiles[1].url, "rtsp://127.0.0.1/x") == 0);
    apply(&st, assign(7100, "overview", 3, "cam2"));
    struct vw_transition push = T(VW_T_PUSH, 7200, "fire");
    push.priority = 2;
    push.ttl_ms = 60000;
    vw_state_apply(&st, &push);

    /* JSON round trip: the same value */
    cJSON *j = vw_state_to_json(&st);
    struct vw_state back;
    char why[256];
    CHECK(vw_state_from_json(j, &back, why, sizeof why));
    CHECK(vw_state_equal(&st, &back));
    vw_state_finish(&back);
    /* a broken value is refused with a reason */
    cJSON_ReplaceItemInObject(j, "stack", cJSON_CreateString("no"));
    CHECK(!vw_state_from_json(j, &back, why, sizeof why));
    CHECK(strstr(why, "stack") != NULL);
    cJSON_Delete(j);

    /* DELETE of something that is not saved */
    CHECK_STR(apply(&st, T(VW_T_DELETE, 8000, "overview")), "not_saved");
    struct vw_state copy;
    vw_state_copy(&copy, &st);
    CHECK(vw_state_equal(&copy, &st));
    vw_state_finish(&copy);
    vw_state_finish(&st);
}

/* retain: a reload that dropped scene "fire" and source "cam2" */
static int tiles_of(void *ud, const char *scene)
{
    if (strcmp(scene, "fire") == 0)
        return -1;
    if (strcmp(scene, "night") == 0)
        return 2;
    return 4;
}
static bool source_ok(void *ud, const char *source)
{
    return strcmp(source, "cam2") != 0;
}

static void test_retain(void)
{
    struct vw_state st;
    vw_state_init(&st, "fire");
    struct vw_transition push = T(VW_T_PUSH, 1, "overview");
    apply(&st, push);
    apply(&st, assign(1, "overview", 3, "cam2"));
    apply(&st, assign(1, "overview", 1, "cam1"));
    apply(&st, assign(1, "overview", 9, "cam1")); /* a tile the scene lost */
    push.scene = "fire";
    apply(&st, push);
    CHECK(vw_state_retain(&st, tiles_of, source_ok, NULL, "overview"));
    CHECK_STR(st.base, "overview");
    CHECK(st.stack_count == 1);
    CHECK(vw_state_pick(&st, "overview", 3) == NULL);
    CHECK(vw_state_pick(&st, "overview", 1) != NULL);
    CHECK(vw_state_pick(&st, "overview", 9) == NULL);
    CHECK(!vw_state_retain(&st, tiles_of, source_ok, NULL, "overview"));
    vw_state_finish(&st);
}

static void test_store(void)
{
    char dir[] = "/tmp/vwall-test-state-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/sub/wall.state.json", dir);
    int64_t now = 1700000000000;

    struct vw_store *s = vw_store_create_local(path, "/etc/vwall/wall.cfg", "abc", "overview");
    struct vw_transition push = T(VW_T_PUSH, now, "fire");
    push.ttl_ms = 30000;
    CHECK(commit(s, push) == NULL);
    CHECK(commit(s, assign(now, "overview", 1, "cam5")) == NULL);
    CHECK_STR(commit(s, T(VW_T_POP, now, "nothing")), "not_pushed");
    vw_store_flush(s);
    CHECK(access(path, F_OK) == 0); /* the folder was made, the file written */
    vw_store_destroy(s);

    /* Restored 10 s later: the incident with 20 s left, the pick back. */
    char why[512];
    s = vw_store_create_local(path, "/etc/vwall/wall.cfg", "abc", "overview");
    CHECK(vw_store_restore(s, now + 10000, why, sizeof why) == VW_RESTORE_ALL);
    const struct vw_state *st = vw_store_state(s);
    CHECK_STR(vw_state_showing(st, now + 10000), "fire");
    CHECK(vw_state_next_expiry(st, now + 10000) - (now + 10000) == 20000);
    CHECK(vw_state_pick(st, "overview", 1) != NULL);
    CHECK(st->revision == 2);
    vw_store_destroy(s);

    /* Restored after the incident's end: it is gone. */
    s = vw_store_create_local(path, "/etc/vwall/wall.cfg", "abc", "overview");
    CHECK(vw_store_restore(s, now + 40000, why, sizeof why) == VW_RESTORE_ALL);
    CHECK(vw_store_state(s)->stack_count == 0);
    vw_store_destroy(s);

    /* Another version of the wall file: saved scenes only. Another wall file: nothing. */
    s = vw_store_create_local(path, "/etc/vwall/wall.cfg", "changed", "overview");
    CHECK(vw_store_restore(s, now, why, sizeof why) == VW_RESTORE_SAVED_ONLY);
    CHECK(vw_store_state(s)->stack_count == 0);
    vw_store_destroy(s); /* writes the hash "changed": the incident is gone for good */
    s = vw_store_create_local(path, "/etc/vwall/other.cfg", "abc", "overview");
    CHECK(vw_store_restore(s, now, why, sizeof why) == VW_RESTORE_IGNORED);
    CHECK(strstr(why, "another wall file") != NULL);
    vw_store_destroy(s);

    /* Truncated: ignored with the reason, never fatal. */
    FILE *f = fopen(path, "w");
    fputs("{\"vwall_state\":1,\"wall_fi", f);
    fclose(f);
    s = vw_store_create_local(path, "/etc/vwall/other.cfg", "abc", "overview");
    CHECK(vw_store_restore(s, now, why, sizeof why) == VW_RESTORE_IGNORED);
    CHECK(strstr(why, "not JSON") != NULL);
    CHECK_STR(vw_state_showing(vw_store_state(s), now), "overview");
    vw_store_destroy(s);

    /* No file at all: nothing, no warning. */
    unlink(path);
    s = vw_store_create_local(path, "/etc/vwall/wall.cfg", "abc", "overview");
    CHECK(vw_store_restore(s, now, why, sizeof why) == VW_RESTORE_NONE);
    vw_store_destroy(s);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

/* A shared store's side of a cluster, over a backend that the test plays: it holds what was
 * proposed and hands over the values and answers the test gives it, as NATS would. (The real
 * backend, over real NATS servers, is tested in tests/cluster_test.py.) */
struct test_backend {
    bool up;
    struct vw_transition *proposed[8];
    uint64_t tickets[8];
    int nproposed;
    struct vw_store_value values[8];
    int nvalues;
    struct vw_store_result results[8];
    int nresults;
};

static bool tb_propose(void *ud, uint64_t ticket, const struct vw_transition *t)
{
    struct test_backend *b = ud;
    if (!b->up)
        return false;
    b->tickets[b->nproposed] = ticket;
    b->proposed[b->nproposed++] = vw_transition_dup(t);
    return true;
}

static bool tb_take_value(void *ud, struct vw_store_value *out)
{
    struct test_backend *b = ud;
    if (!b->nvalues)
        return false;
    *out = b->values[0];
    memmove(b->values, b->values + 1, (size_t)--b->nvalues * sizeof *b->values);
    return true;
}

static bool tb_take_result(void *ud, struct vw_store_result *out)
{
    struct test_backend *b = ud;
    if (!b->nresults)
        return false;
    *out = b->results[0];
    memmove(b->results, b->results + 1, (size_t)--b->nresults * sizeof *b->results);
    return true;
}

static void tb_destroy(void *ud)
{
    struct test_backend *b = ud;
    for (int i = 0; i < b->nproposed; i++)
        vw_transition_free(b->proposed[i]);
    for (int i = 0; i < b->nvalues; i++)
        vw_state_finish(&b->values[i].state);
}

/* A value some node committed: `base` with a push of `scene`, revision rev, showing at `at`. */
static void committed(struct test_backend *b, const char *scene, uint64_t rev, int64_t at)
{
    struct vw_store_value *v = &b->values[b->nvalues++];
    memset(v, 0, sizeof *v);
    vw_state_init(&v->state, "overview");
    struct vw_transition t = T(VW_T_PUSH, at, scene);
    CHECK(vw_state_apply(&v->state, &t) == NULL);
    v->state.revision = rev;
    v->at_ms = at;
    snprintf(v->hash, sizeof v->hash, "abc");
    snprintf(v->by, sizeof v->by, "node-b");
}

static void test_shared_store(void)
{
    struct test_backend b = {.up = true};
    struct vw_store_backend be = {.ud = &b,
                                  .propose = tb_propose,
                                  .take_value = tb_take_value,
                                  .take_result = tb_take_result,
                                  .destroy = tb_destroy};
    struct vw_store *s = vw_store_create_shared(&be, "overview");
    CHECK(vw_store_is_shared(s));
    int64_t now = 1700000000000;
    struct vw_state prev;

    /* A commit is a proposal, answered later; nothing changes before. */
    uint64_t ticket = 0;
    struct vw_transition sw = T(VW_T_SWITCH, now, "map");
    CHECK(vw_store_commit(s, &sw, &ticket) == VW_STORE_PENDING);
    CHECK(ticket == 1 && b.nproposed == 1 && b.proposed[0]->kind == VW_T_SWITCH);
    CHECK_STR(b.proposed[0]->scene, "map");
    CHECK_STR(vw_store_state(s)->base, "overview");
    b.results[b.nresults++] =
        (struct vw_store_result){.ticket = 1, .error = NULL, .revision = 1, .at_ms = now + 120};
    struct vw_store_result r;
    CHECK(vw_store_take_result(s, &r) && r.ticket == 1 && r.revision == 1);
    CHECK(!vw_store_take_result(s, &r));

    /* A value shows at its moment, not before: every node adopts it on the same tick. */
    committed(&b, "fire", 1, now + 120);
    CHECK(!vw_store_tick(s, now, &prev));
    CHECK(vw_store_next_at(s) == now + 120);
    CHECK_STR(vw_state_showing(vw_store_state(s), now + 200), "overview");
    CHECK(vw_store_tick(s, now + 120, &prev));
    CHECK_STR(vw_state_showing(&prev, now + 200), "overview");
    vw_state_finish(&prev);
    CHECK_STR(vw_state_showing(vw_store_state(s), now + 200), "fire");
    CHECK_STR(vw_store_by(s), "node-b");
    CHECK_STR(vw_store_hash(s), "abc");
    CHECK(vw_store_next_at(s) == 0);

    /* An old revision (a watch echo of our own commit) is dropped; ready values are adopted
     * one by one, in commit order, so every node sees (and tells) every revision. */
    committed(&b, "old", 1, now + 130);
    CHECK(!vw_store_tick(s, now + 400, &prev));
    CHECK_STR(vw_state_showing(vw_store_state(s), now + 400), "fire");
    CHECK(vw_store_next_at(s) == 0);
    committed(&b, "flood", 2, now + 300);
    committed(&b, "storm", 3, now + 310);
    CHECK(vw_store_tick(s, now + 400, &prev));
    vw_state_finish(&prev);
    CHECK_STR(vw_state_showing(vw_store_state(s), now + 400), "flood");
    CHECK(vw_store_tick(s, now + 400, &prev));
    CHECK_STR(vw_state_showing(&prev, now + 400), "flood");
    vw_state_finish(&prev);
    CHECK_STR(vw_state_showing(vw_store_state(s), now + 400), "storm");
    CHECK(vw_store_state(s)->revision == 3);
    CHECK(!vw_store_tick(s, now + 500, &prev));

    /* No server: refused at once, with the cluster's error. */
    b.up = false;
    CHECK_STR(vw_store_commit(s, &sw, &ticket), "cluster_unavailable");
    CHECK(ticket == 2);
    vw_store_destroy(s); /* calls tb_destroy */
}

int main(void)
{
    test_stack();
    test_picks();
    test_saved_json_retain();
    test_retain();
    test_store();
    test_shared_store();
    return check_summary("test_state");
}
