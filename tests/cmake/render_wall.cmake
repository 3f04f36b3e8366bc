# Render tests through the real binary: vwall --screenshot on test walls of generated clips.
if(NOT TEST clips)
  add_test(NAME clips COMMAND ${CMAKE_SOURCE_DIR}/scripts/make-clips.sh test ${CMAKE_BINARY_DIR}/clips)
  set_tests_properties(clips PROPERTIES FIXTURES_SETUP clips TIMEOUT 300 LABELS "fixture")
endif()
add_test(NAME render_wall
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/render_test.py $<TARGET_FILE:vwall> ${CMAKE_BINARY_DIR}/clips)
set_tests_properties(render_wall PROPERTIES LABELS "gl;integration" TIMEOUT 600
  FIXTURES_REQUIRED clips ENVIRONMENT "${VWALL_TEST_ENV}")
