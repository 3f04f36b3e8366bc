# A wall that renders only some panels decodes only what it shows, and the --frame-log CSV
# (issue 13, points 3 and 8): tests/timing_test.py on a 2x1 wall of 160x90 panels.
add_test(NAME timing
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/timing_test.py
    --vwall $<TARGET_FILE:vwall> --clips ${CMAKE_BINARY_DIR}/clips)
set_tests_properties(timing PROPERTIES LABELS "integration;gl;timing" TIMEOUT 240
  FIXTURES_REQUIRED clips ENVIRONMENT "${VWALL_TEST_ENV}")
