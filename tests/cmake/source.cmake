# mailbox (frame handoff) and source (FFmpeg demux/decode thread, state machine).

# Test clips of known colours and patterns, generated once per build tree. Another
# module's file may define the same fixture; only the first one registers it.
if(NOT TEST clips)
  add_test(NAME clips COMMAND ${CMAKE_SOURCE_DIR}/scripts/make-clips.sh test ${CMAKE_BINARY_DIR}/clips)
  set_tests_properties(clips PROPERTIES FIXTURES_SETUP clips LABELS fixture TIMEOUT 300)
endif()

add_executable(test_mailbox test_mailbox.c)
target_link_libraries(test_mailbox PRIVATE vwall_core)
add_test(NAME test_mailbox COMMAND test_mailbox)
set_tests_properties(test_mailbox PROPERTIES LABELS unit TIMEOUT 60
  ENVIRONMENT "${VWALL_TEST_ENV}")

add_executable(test_source test_source.c)
target_link_libraries(test_source PRIVATE vwall_core)
add_test(NAME test_source COMMAND test_source)
set_tests_properties(test_source PROPERTIES LABELS integration TIMEOUT 180
  FIXTURES_REQUIRED clips
  ENVIRONMENT "${VWALL_TEST_ENV};VWALL_CLIPS=${CMAKE_BINARY_DIR}/clips")
