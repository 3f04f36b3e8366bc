# The cluster (issue 13, docs/cluster.md): three nats-server processes with JetStream and
# three vwall nodes on one 6x3 wall of 160x90 panels, all on 127.0.0.1
# (tests/cluster_test.py). One ctest per scenario; each starts and stops its own NATS
# cluster and nodes, so they run alone (RUN_SERIAL: five processes on a 2-core machine).
#   cluster_nats  the NATS fixture itself (tests/nats_cluster.py selftest): a replicated
#                 stream survives one server killed, all killed and restarted, one hung
add_test(NAME cluster_nats COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/nats_cluster.py selftest)
set_tests_properties(cluster_nats PROPERTIES LABELS "cluster;integration" TIMEOUT 120
  RUN_SERIAL TRUE ENVIRONMENT "${VWALL_TEST_ENV}")

foreach(scenario screenshot switch concurrent span nodeloss natsloss mismatch auth auth_nkey)
  add_test(NAME cluster_${scenario}
    COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/cluster_test.py
      --vwall $<TARGET_FILE:vwall> --clips ${CMAKE_BINARY_DIR}/clips ${scenario})
  set_tests_properties(cluster_${scenario} PROPERTIES LABELS "cluster;integration" TIMEOUT 240
    RUN_SERIAL TRUE FIXTURES_REQUIRED clips ENVIRONMENT "${VWALL_TEST_ENV}")
endforeach()
# What these assert is when frames show (spreads within one redraw interval, frame rates
# kept, expiries on time): the plain build's business. A sanitizer build draws several
# times slower, so scripts/test.sh leaves the label `timing` out of the ASan pass.
set_property(TEST cluster_switch cluster_span cluster_nodeloss cluster_natsloss
  APPEND PROPERTY LABELS timing)
# The cluster's threads (commits, the watch, heartbeats, asks) under ThreadSanitizer: 200
# changes over three nodes at once (tests/tsan.supp: races inside uninstrumented Mesa and
# FFmpeg only).
set_property(TEST cluster_concurrent APPEND PROPERTY LABELS tsan)

# The clock filter the nodes judge each other's clocks by (src/cluster/clocks.h).
add_executable(test_clocks test_clocks.c)
target_link_libraries(test_clocks PRIVATE vwall_core)
add_test(NAME test_clocks COMMAND test_clocks)
set_tests_properties(test_clocks PROPERTIES LABELS "unit;cluster" TIMEOUT 30)
