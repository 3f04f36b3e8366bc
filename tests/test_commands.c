/* commands: the command table and the request parser/validator (no wall, no sockets). */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "control/commands.h"

/* Parses `line`; returns the error code, "" when valid, "empty" for a blank line. */
static const char *parse(const char *line)
{
    static char code[32];
    struct vw_request r;
    bool ok = vw_commands_parse(line, strlen(line), &r);
    snprintf(code, sizeof code, "%s", ok ? "" : r.empty ? "empty" : r.error ? r.error : "?");
    if (ok)
        CHECK(r.cmd != NULL && r.error == NULL);
    else if (!r.empty)
        CHECK(r.message[0] != '\0');
    vw_request_finish(&r);
    return code;
}

static void test_table(void)
{
    int n = 0;
    for (; vw_commands_name(n + 1); n++)
        CHECK(strcmp(vw_commands_name(n), vw_commands_name(n + 1)) < 0); /* bsearch needs it */
    CHECK(n >= 13);
    CHECK(vw_commands_changes_state("scene.switch"));
    CHECK(vw_commands_changes_state("scene.push"));
    CHECK(vw_commands_changes_state("scene.pop"));
    CHECK(vw_commands_changes_state("tile.assign"));
    CHECK(vw_commands_changes_state("config.reload"));
    CHECK(vw_commands_changes_state("screenshot"));
    CHECK(!vw_commands_changes_state("ping"));
    CHECK(!vw_commands_changes_state("status"));
    CHECK(!vw_commands_changes_state("auth"));
    CHECK(!vw_commands_changes_state("nope"));
}

static void test_parse(void)
{
    CHECK_STR(parse("{\"cmd\":\"ping\"}"), "");
    CHECK_STR(parse("  {\"id\":[1,2],\"cmd\":\"ping\"}  \r"), "");
    CHECK_STR(parse(""), "empty");
    CHECK_STR(parse(" \t\r"), "empty");
    CHECK_STR(parse("{\"cmd\":\"ping\""), "parse_error");
    CHECK_STR(parse("{\"cmd\":\"ping\"} x"), "parse_error");
    CHECK_STR(parse("{\"cmd\":\"ping\"}{}"), "parse_error");
    CHECK_STR(parse("{\"cmd\":\"ping\",\"x\":\"\xff\"}"), "parse_error");
    CHECK_STR(parse("{\"cmd\":\"ping\",\"x\":\"\xc0\xaf\"}"), "parse_error");     /* overlong */
    CHECK_STR(parse("{\"cmd\":\"ping\",\"x\":\"\xed\xa0\x80\"}"), "parse_error"); /* surrogate */
    CHECK_STR(parse("[1]"), "bad_request");
    CHECK_STR(parse("null"), "bad_request");
    CHECK_STR(parse("{}"), "bad_request");
    CHECK_STR(parse("{\"cmd\":1}"), "bad_request");
    CHECK_STR(parse("{\"cmd\":\"ping\",\"cmd\":\"status\"}"), "bad_request");
    CHECK_STR(parse("{\"id\":1,\"id\":2,\"cmd\":\"ping\"}"), "bad_request");
    CHECK_STR(parse("{\"cmd\":\"nope\"}"), "unknown_command");
    CHECK_STR(parse("{\"cmd\":\"PING\"}"), "unknown_command");
    CHECK_STR(parse("{\"cmd\":\"ping\",\"x\":1}"), "bad_args");

    CHECK_STR(parse("{\"cmd\":\"scene.switch\",\"scene\":\"a\"}"), "");
    CHECK_STR(parse("{\"cmd\":\"scene.switch\"}"), "bad_args");
    CHECK_STR(parse("{\"cmd\":\"scene.switch\",\"scene\":\"\"}"), "bad_args");
    CHECK_STR(parse("{\"cmd\":\"scene.switch\",\"scene\":1}"), "bad_args");
    CHECK_STR(parse("{\"cmd\":\"scene.push\",\"scene\":\"a\",\"ttl\":0,\"priority\":-2}"), "");
    CHECK_STR(parse("{\"cmd\":\"scene.push\",\"scene\":\"a\",\"ttl\":1.5}"), "");
    CHECK_STR(parse("{\"cmd\":\"scene.push\",\"scene\":\"a\",\"ttl\":-0.1}"), "bad_args");
    CHECK_STR(parse("{\"cmd\":\"scene.push\",\"scene\":\"a\",\"ttl\":\"1\"}"), "bad_args");
    CHECK_STR(parse("{\"cmd\":\"scene.push\",\"scene\":\"a\",\"priority\":1.5}"), "bad_args");
    CHECK_STR(parse("{\"cmd\":\"scene.push\",\"scene\":\"a\",\"priority\":1e12}"), "bad_args");
    CHECK_STR(parse("{\"cmd\":\"scene.push\",\"scene\":\"a\",\"ttl\":1,\"ttl\":2}"), "bad_args");
    CHECK_STR(parse("{\"cmd\":\"tile.assign\",\"tile\":0,\"source\":\"s\"}"), "");
    CHECK_STR(parse("{\"cmd\":\"tile.assign\",\"tile\":\"t\",\"source\":\"s\"}"), "");
    CHECK_STR(parse("{\"cmd\":\"tile.assign\",\"tile\":-1,\"source\":\"s\"}"),
              ""); /* bad_tile later */
    CHECK_STR(parse("{\"cmd\":\"tile.assign\",\"tile\":0.5,\"source\":\"s\"}"), "bad_args");
    CHECK_STR(parse("{\"cmd\":\"tile.assign\",\"tile\":1e30,\"source\":\"s\"}"), "bad_args");
    CHECK_STR(parse("{\"cmd\":\"tile.assign\",\"tile\":null,\"source\":\"s\"}"), "bad_args");
    CHECK_STR(parse("{\"cmd\":\"tile.assign\",\"source\":\"s\"}"), "bad_args");
    CHECK_STR(parse("{\"cmd\":\"screenshot\",\"file\":\"wall.png\"}"), "");
    CHECK_STR(parse("{\"cmd\":\"screenshot\",\"file\":\"墙.png\"}"), "");
    CHECK_STR(parse("{\"cmd\":\"screenshot\",\"file\":\"../wall.png\"}"), "bad_args");
    CHECK_STR(parse("{\"cmd\":\"screenshot\",\"file\":\"a/wall.png\"}"), "bad_args");
    CHECK_STR(parse("{\"cmd\":\"screenshot\",\"file\":\"a..png\"}"), "bad_args");
    CHECK_STR(parse("{\"cmd\":\"screenshot\",\"file\":\".png\"}"), "bad_args");
    CHECK_STR(parse("{\"cmd\":\"screenshot\",\"file\":\"wall.jpg\"}"), "bad_args");
    CHECK_STR(parse("{\"cmd\":\"screenshot\",\"file\":\"\"}"), "bad_args");
    CHECK_STR(parse("{\"cmd\":\"screenshot\",\"file\":\"a\\nb.png\"}"), "bad_args");
    CHECK_STR(parse("{\"cmd\":\"subscribe\"}"), "");
    CHECK_STR(parse("{\"cmd\":\"subscribe\",\"events\":[\"scene.changed\",\"*\"]}"), "");
    CHECK_STR(parse("{\"cmd\":\"subscribe\",\"events\":\"*\"}"), "bad_args");
    CHECK_STR(parse("{\"cmd\":\"subscribe\",\"events\":[1]}"), "bad_args");
    CHECK_STR(parse("{\"cmd\":\"subscribe\",\"events\":[\"\"]}"), "bad_args");
    CHECK_STR(parse("{\"cmd\":\"auth\",\"token\":\"\"}"), "");
    CHECK_STR(parse("{\"cmd\":\"auth\"}"), "bad_args");

    /* The id comes back even when the request is refused. */
    struct vw_request r;
    const char *refused = "{\"id\":\"x\",\"cmd\":\"nope\"}";
    CHECK(!vw_commands_parse(refused, strlen(refused), &r) &&
          strcmp(r.error, "unknown_command") == 0);
    CHECK(r.id && cJSON_IsRaw(r.id) && strcmp(r.id->valuestring, "\"x\"") == 0);
    vw_request_finish(&r);
    /* ...exactly as sent: numbers a double would alter, nested values, escaped keys. */
    const char *ids[] = {"12345678901234567890", "1e999", "-0.10", "{\"a\":[1,{\"b\":\"}\"}]}",
                         "\"\\u00e9\\\"\""};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char line[256];
        snprintf(line, sizeof line, "{\"cmd\":\"ping\", \"id\" : %s }", ids[i]);
        CHECK(vw_commands_parse(line, strlen(line), &r));
        CHECK(r.id && cJSON_IsRaw(r.id) && strcmp(r.id->valuestring, ids[i]) == 0);
        vw_request_finish(&r);
    }
    const char *escaped_key = "{\"\\u0069d\":42,\"cmd\":\"ping\"}";
    CHECK(vw_commands_parse(escaped_key, strlen(escaped_key), &r));
    CHECK(r.id && cJSON_IsRaw(r.id) && strcmp(r.id->valuestring, "42") == 0);
    vw_request_finish(&r);
    /* A string may not hold U+0000: cJSON would cut it there ("tok\u0000junk" = "tok"). */
    CHECK_STR(parse("{\"cmd\":\"auth\",\"token\":\"tok\\u0000junk\"}"), "bad_request");
    CHECK_STR(parse("{\"cmd\":\"auth\",\"token\":\"tok\\\\u0000\"}"), ""); /* "\\u0000" text */
    /* Not NUL-terminated, embedded NUL. */
    char buf[] = "{\"cmd\":\"ping\"}XXXX";
    CHECK(vw_commands_parse(buf, 14, &r));
    vw_request_finish(&r);
    CHECK(!vw_commands_parse("{\"cmd\":\"ping\"}\0", 15, &r) &&
          strcmp(r.error, "parse_error") == 0);
    vw_request_finish(&r);
    /* Over the line cap. */
    size_t big = VW_COMMANDS_MAX_LINE + 10;
    char *line = malloc(big);
    memset(line, 'x', big);
    line[0] = '{';
    CHECK(!vw_commands_parse(line, big, &r) && strcmp(r.error, "too_large") == 0);
    vw_request_finish(&r);
    free(line);
}

static void test_session(void)
{
    struct vw_session s;
    vw_session_init(&s, "unix:pid=1,uid=0", true);
    CHECK(s.trusted && !s.authed);
    CHECK(!vw_session_wants(&s, "scene.changed"));
    s.all_events = true;
    CHECK(vw_session_wants(&s, "scene.changed"));
    CHECK(vw_session_wants(&s, NULL));
    vw_session_finish(&s);
    CHECK(!vw_session_wants(&s, "scene.changed"));
}

int main(void)
{
    test_table();
    test_parse();
    test_session();
    return check_summary("commands");
}
