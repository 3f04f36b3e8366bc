# config: the wall-file loader (unit), the shipped layouts and `vwall --check` (layouts).
add_executable(test_config ${CMAKE_SOURCE_DIR}/tests/test_config.c)
target_link_libraries(test_config vwall_core)
target_compile_definitions(test_config PRIVATE VWALL_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
add_test(NAME config COMMAND test_config WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(config PROPERTIES LABELS "unit" TIMEOUT 60 ENVIRONMENT "${VWALL_TEST_ENV}")

# Every shipped wall file passes `vwall --check`.
file(GLOB VWALL_LAYOUTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/layouts/*.cfg)
foreach(layout ${VWALL_LAYOUTS})
  get_filename_component(layout_name ${layout} NAME_WE)
  add_test(NAME layout-check-${layout_name} COMMAND $<TARGET_FILE:vwall> -c ${layout} --check)
  set_tests_properties(layout-check-${layout_name} PROPERTIES LABELS "layouts" TIMEOUT 60
    ENVIRONMENT "${VWALL_TEST_ENV}")
endforeach()

# A broken wall file: exit status exactly 1, and the errors as path:line: message on stderr.
set(bad_cfg ${CMAKE_SOURCE_DIR}/tests/configs/bad.cfg)
add_test(NAME layout-check-bad COMMAND sh -c [=[
  err=$("$1" -c "$2" --check 2>&1 >/dev/null); rc=$?
  [ "$rc" -eq 1 ] || { echo "exit status $rc, want 1"; echo "$err"; exit 1; }
  for want in "$2:5: unknown key 'colour' in wall" "$2:10: scenes[0].tiles[0].source: unknown source 'nrth-gate'"; do
    printf '%s\n' "$err" | grep -qF -- "$want" || { echo "stderr lacks: $want"; echo "$err"; exit 1; }
  done
]=] check-bad $<TARGET_FILE:vwall> ${bad_cfg})
set_tests_properties(layout-check-bad PROPERTIES LABELS "layouts" TIMEOUT 60 ENVIRONMENT "${VWALL_TEST_ENV}")
