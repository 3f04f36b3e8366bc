/* Scene stack: base scene plus incident scenes with priority and ttl. */
#include "check.h"
#include "state/scene.h"

int main(void)
{
    struct vw_scene_stack st;
    vw_scene_stack_init(&st, 0);
    CHECK(vw_scene_stack_current(&st) == 0);

    /* An incident push shows at once; a higher one covers it; ttl 0 never expires. */
    vw_scene_stack_push(&st, 1, 5, 10, 100.0);
    CHECK(vw_scene_stack_current(&st) == 1);
    vw_scene_stack_push(&st, 2, 9, 0, 101.0);
    CHECK(vw_scene_stack_current(&st) == 2);
    /* A push below the priority showing waits its turn without showing. */
    vw_scene_stack_push(&st, 3, 1, 2, 102.0);
    CHECK(vw_scene_stack_current(&st) == 2);
    CHECK_NEAR(vw_scene_stack_next_expiry(&st), 104.0, 1e-9);

    /* Scene 3 expires unseen; scene 1 expires at 110. */
    CHECK(vw_scene_stack_expire(&st, 104.5));
    CHECK(st.count == 2);
    CHECK(!vw_scene_stack_expire(&st, 105.0));
    CHECK(vw_scene_stack_pop(&st, 2));
    CHECK(vw_scene_stack_current(&st) == 1);
    CHECK(!vw_scene_stack_pop(&st, 2));
    CHECK(vw_scene_stack_expire(&st, 110.0));
    CHECK(vw_scene_stack_current(&st) == 0);
    CHECK(vw_scene_stack_next_expiry(&st) == 0);

    /* Equal priority: the later push shows; pushing again replaces the entry. */
    vw_scene_stack_push(&st, 1, 3, 0, 200.0);
    vw_scene_stack_push(&st, 2, 3, 0, 201.0);
    CHECK(vw_scene_stack_current(&st) == 2);
    vw_scene_stack_push(&st, 1, 3, 0, 202.0);
    CHECK(vw_scene_stack_current(&st) == 1);
    CHECK(st.count == 2);

    /* A reload that drops scene 2 and moves scene 1 to index 0. */
    st.base = 2;
    int remap[3] = {-1, 0, -1};
    vw_scene_stack_remap(&st, remap, 3);
    CHECK(st.count == 1);
    CHECK(vw_scene_stack_current(&st) == 0);
    CHECK(st.base == 0);

    vw_scene_stack_finish(&st);
    return check_summary("test_scene");
}
