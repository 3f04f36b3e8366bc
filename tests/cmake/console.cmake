# The browser console (issue 14): two headless Chromiums (chromium + chromium-driver,
# python3-selenium) and raw WebSocket/HTTP clients against the real vwall offscreen with
# clips and a GStreamer RTSP camera (tests/console_test.py).
add_test(NAME console
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/console_test.py
    --vwall $<TARGET_FILE:vwall> --clips ${CMAKE_BINARY_DIR}/clips)
set_tests_properties(console PROPERTIES LABELS "console;integration;gl;browser" TIMEOUT 300
  FIXTURES_REQUIRED clips ENVIRONMENT "${VWALL_TEST_ENV}")

# The key scenarios in Firefox (Debian's firefox-esr). Debian has no geckodriver, so the test
# drives Firefox over its own Marionette protocol (tests/marionette.py).
add_test(NAME console_firefox
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/console_test.py --firefox
    --vwall $<TARGET_FILE:vwall> --clips ${CMAKE_BINARY_DIR}/clips)
set_tests_properties(console_firefox PROPERTIES LABELS "console;integration;gl;browser" TIMEOUT 300
  FIXTURES_REQUIRED clips ENVIRONMENT "${VWALL_TEST_ENV}")
