# Installing vwall like a product (issue 15).
#  service_notify   the sd_notify protocol against a NOTIFY_SOCKET the test owns (needs vwall
#                   built with libsystemd: without it vwall tells systemd nothing, and the
#                   test is not registered; the configure step says which)
#  service_journal  journald priorities on the log lines (JOURNAL_STREAM)
#  install_tree     `cmake --install` into a scratch DESTDIR: every file in place, and the
#                   installed vwall draws with its installed shaders from outside the tree
#  package_deb      scripts/package.sh: the .deb's name, contents, Depends, conffiles,
#                   lintian (no errors), installed with dpkg -i (root; exit 77 = skipped
#                   otherwise): the user and groups, `vwall --check` and `--screenshot` on
#                   /etc/vwall/example.cfg, `systemd-analyze verify` of vwall@example, man
#                   pages; then purged, leaving the machine as it was. A release build of its
#                   own, so not in the sanitizer builds.
if(VWALL_HAVE_SYSTEMD)
  add_test(NAME service_notify
    COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/service_test.py $<TARGET_FILE:vwall>
            ${CMAKE_BINARY_DIR}/clips notify)
  set_tests_properties(service_notify PROPERTIES LABELS "integration;service" TIMEOUT 300
    FIXTURES_REQUIRED clips ENVIRONMENT "${VWALL_TEST_ENV}")
endif()
add_test(NAME service_journal
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/service_test.py $<TARGET_FILE:vwall>
          ${CMAKE_BINARY_DIR}/clips journal)
set_tests_properties(service_journal PROPERTIES LABELS "integration;service" TIMEOUT 120
  FIXTURES_REQUIRED clips ENVIRONMENT "${VWALL_TEST_ENV}")

add_test(NAME install_tree
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/package_test.py install
          ${CMAKE_BINARY_DIR} ${CMAKE_INSTALL_PREFIX})
set_tests_properties(install_tree PROPERTIES LABELS "integration;package" TIMEOUT 300
  ENVIRONMENT "${VWALL_TEST_ENV}")

if(NOT VWALL_SANITIZE)
  add_test(NAME package_deb
    COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/package_test.py deb
            ${CMAKE_BINARY_DIR}/package-deb /usr)
  set_tests_properties(package_deb PROPERTIES LABELS "integration;package" TIMEOUT 900
    SKIP_RETURN_CODE 77 RUN_SERIAL ON ENVIRONMENT "${VWALL_TEST_ENV}")
endif()
