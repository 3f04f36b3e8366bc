# Live-wall integration: the real vwall against the real RTSP server (tests/rtsp_server.py).
#   live  tests/live_test.py: live, frozen and dead cameras, bad streams, make-before-break
#         scene switches with linger and warm, substreams (about a minute; 2-3 under ASan)
#   soak  tests/soak.py --minutes 2.5: the short mixed soak of issue 12 (cameras killed and
#         restarted, scene switches, reloads, screenshots, visiting clients, a flapping
#         camera, a size change mid-stream; RSS within 10 % of warm-up, fds and threads
#         flat, a clean exit). The long one is 30 minutes:
#         /usr/bin/python3 tests/soak.py --vwall build/vwall   (docs/operations.md)
# Both are timing-sensitive (they measure reconnects against backoff_ms), so they run alone.
add_test(NAME live
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/live_test.py
    --vwall $<TARGET_FILE:vwall> --clips ${CMAKE_BINARY_DIR}/clips)
set_tests_properties(live PROPERTIES LABELS "live;integration" TIMEOUT 300 RUN_SERIAL TRUE
  FIXTURES_REQUIRED clips ENVIRONMENT "${VWALL_TEST_ENV}")

add_test(NAME soak
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/soak.py --vwall $<TARGET_FILE:vwall> --minutes 2.5)
set_tests_properties(soak PROPERTIES LABELS "soak;integration" TIMEOUT 420 RUN_SERIAL TRUE
  ENVIRONMENT "${VWALL_TEST_ENV}")
