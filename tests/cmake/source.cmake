# mailbox (frame handoff) and source (FFmpeg demux/decode thread, state machine).

add_executable(test_mailbox test_mailbox.c)
target_link_libraries(test_mailbox PRIVATE vwall_core)
add_test(NAME test_mailbox COMMAND test_mailbox)
set_tests_properties(test_mailbox PROPERTIES LABELS "unit;tsan" TIMEOUT 60
  ENVIRONMENT "${VWALL_TEST_ENV}")

add_executable(test_source test_source.c)
target_link_libraries(test_source PRIVATE vwall_core)
add_test(NAME test_source COMMAND test_source)
set_tests_properties(test_source PROPERTIES LABELS "integration;tsan" TIMEOUT 180
  FIXTURES_REQUIRED clips
  ENVIRONMENT "${VWALL_TEST_ENV};VWALL_CLIPS=${CMAKE_BINARY_DIR}/clips")
