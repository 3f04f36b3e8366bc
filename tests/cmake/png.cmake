# png: screenshots written through a temporary file renamed into place (hard links, symlinks).
add_executable(test_png test_png.c)
target_link_libraries(test_png PRIVATE vwall_core)
add_test(NAME test_png COMMAND test_png)
set_tests_properties(test_png PROPERTIES LABELS "unit" TIMEOUT 60 ENVIRONMENT "${VWALL_TEST_ENV}")
