# Overload that stays honest: 24 decoding 720p tiles on one core (bench/overload.py measures
# the same machinery's speed). Clips are made once per build tree, in overload-clips/.
add_test(NAME overload
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/overload_test.py $<TARGET_FILE:vwall>
          ${CMAKE_BINARY_DIR}/overload-clips)
set_tests_properties(overload PROPERTIES LABELS "integration" TIMEOUT 180
  ENVIRONMENT "${VWALL_TEST_ENV}")
