# Control socket: the command parser (unit), its fuzz target (libFuzzer with -DVWALL_FUZZ=ON,
# and always a regression run over tests/fuzz-corpus), and the integration suite that drives
# the real vwall over Unix and TCP sockets (tests/test_control.py).

add_executable(test_commands ${CMAKE_SOURCE_DIR}/tests/test_commands.c)
target_link_libraries(test_commands PRIVATE vwall_core)
add_test(NAME test_commands COMMAND test_commands)
set_tests_properties(test_commands PROPERTIES LABELS "unit;control" TIMEOUT 30
  ENVIRONMENT "${VWALL_TEST_ENV}")

# The fuzz target links only the parser/dispatcher, log, errors and cJSON; the wall is a
# stub inside fuzz_request.c.
pkg_check_modules(VWCTL_CJSON REQUIRED IMPORTED_TARGET libcjson)
set(VWCTL_FUZZ_SOURCES
  ${CMAKE_SOURCE_DIR}/tests/fuzz_request.c
  ${CMAKE_SOURCE_DIR}/src/control/commands.c
  ${CMAKE_SOURCE_DIR}/src/base/log.c
  ${CMAKE_SOURCE_DIR}/src/base/errors.c)

add_executable(fuzz_request_regress ${VWCTL_FUZZ_SOURCES})
target_compile_definitions(fuzz_request_regress PRIVATE VW_FUZZ_MAIN)
target_include_directories(fuzz_request_regress PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(fuzz_request_regress PRIVATE PkgConfig::VWCTL_CJSON Threads::Threads m)
add_test(NAME fuzz_request_corpus
  COMMAND fuzz_request_regress ${CMAKE_SOURCE_DIR}/tests/fuzz-corpus)
set_tests_properties(fuzz_request_corpus PROPERTIES LABELS "unit;control;fuzz" TIMEOUT 60
  ENVIRONMENT "${VWALL_TEST_ENV}")

if(VWALL_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "VWALL_FUZZ needs clang: cmake -DCMAKE_C_COMPILER=clang -DVWALL_FUZZ=ON")
  endif()
  add_executable(fuzz_request ${VWCTL_FUZZ_SOURCES})
  target_include_directories(fuzz_request PRIVATE ${CMAKE_SOURCE_DIR}/src)
  target_compile_options(fuzz_request PRIVATE -fsanitize=fuzzer,address,undefined
    -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(fuzz_request PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_request PRIVATE PkgConfig::VWCTL_CJSON Threads::Threads m)
endif()


add_test(NAME control
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/test_control.py
    --vwall $<TARGET_FILE:vwall> --vwallctl $<TARGET_FILE:vwallctl> --clips ${CMAKE_BINARY_DIR}/clips)
set_tests_properties(control PROPERTIES LABELS "control;integration;gl" TIMEOUT 240
  FIXTURES_REQUIRED clips ENVIRONMENT "${VWALL_TEST_ENV}")

# Operating the wall (tests/test_operate.py): seats and roles, tiles and picks, saved scenes,
# the state after kill -9, ad-hoc cameras, search and paging, bursts, a 20,000-camera county.
add_test(NAME operate
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/test_operate.py
    --vwall $<TARGET_FILE:vwall> --clips ${CMAKE_BINARY_DIR}/clips)
set_tests_properties(operate PROPERTIES LABELS "control;integration;gl" TIMEOUT 400
  FIXTURES_REQUIRED clips ENVIRONMENT "${VWALL_TEST_ENV}")
