add_test(NAME render_wall
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/render_test.py $<TARGET_FILE:vwall> ${CMAKE_BINARY_DIR}/clips)
set_tests_properties(render_wall PROPERTIES LABELS "gl;integration" TIMEOUT 600
  FIXTURES_REQUIRED clips ENVIRONMENT "${VWALL_TEST_ENV}")

# Overload: six 1080p60 streams on one core; the smallest tiles shed non-reference frames.
add_test(NAME load
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/load_test.py $<TARGET_FILE:vwall> ${CMAKE_BINARY_DIR}/clips)
set_tests_properties(load PROPERTIES LABELS "integration" TIMEOUT 120
  FIXTURES_REQUIRED clips ENVIRONMENT "${VWALL_TEST_ENV}")
