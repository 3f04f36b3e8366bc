# Nothing blocks the main thread (issue 12, class 1): tests/harden_test.py drives the real
# vwall with a FIFO as its label font and watches, through an LD_PRELOAD probe
# (tests/nss_probe.c), which thread looks control.socket_group up after a reload.

add_library(nss_probe MODULE ${CMAKE_SOURCE_DIR}/tests/nss_probe.c)
# The probe is preloaded into sanitized builds too; it stays uninstrumented itself.
target_compile_options(nss_probe PRIVATE -fno-sanitize=all)
target_link_options(nss_probe PRIVATE -fno-sanitize=all)
target_link_libraries(nss_probe PRIVATE ${CMAKE_DL_LIBS})

add_test(NAME harden
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/harden_test.py
    --vwall $<TARGET_FILE:vwall> --clips ${CMAKE_BINARY_DIR}/clips
    --nss-probe $<TARGET_FILE:nss_probe>)
set_tests_properties(harden PROPERTIES LABELS "control;integration;gl" TIMEOUT 180
  FIXTURES_REQUIRED clips ENVIRONMENT "${VWALL_TEST_ENV}")
