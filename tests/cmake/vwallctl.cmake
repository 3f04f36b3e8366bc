# vwallctl against servers that are not a well-behaved wall: --timeout fires whatever they
# send (endless non-JSON lines, nothing, a byte a second, events only, a full backlog).
add_test(NAME vwallctl_timeout
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/vwallctl_test.py
    --vwallctl $<TARGET_FILE:vwallctl>)
set_tests_properties(vwallctl_timeout PROPERTIES LABELS "control" TIMEOUT 120
  ENVIRONMENT "${VWALL_TEST_ENV}")
