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

# A generated catalog of 20,000 cameras (Chinese names, groups, quoting) passes --check. The
# time it took is printed, not asserted (docs/performance.md, "Catalog scale").
add_test(NAME check-catalog-20k COMMAND sh -c [=[
  dir="$3/catalog-20k"
  python3 "$2/scripts/make-catalog.py" "$dir" --count 20000 --bom --crlf || exit 1
  t0=$(date +%s%N)
  out=$("$1" -c "$dir/wall.cfg" --check 2>&1); rc=$?
  t1=$(date +%s%N)
  echo "$out"
  echo "vwall --check with 20000 catalog sources: $(( (t1 - t0) / 1000000 )) ms"
  [ "$rc" -eq 0 ] || { echo "exit status $rc, want 0"; exit 1; }
  printf '%s\n' "$out" | grep -qF "ok (20000 sources, 1 scenes" || { echo "not 20000 sources"; exit 1; }
]=] check-catalog-20k $<TARGET_FILE:vwall> ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(check-catalog-20k PROPERTIES LABELS "layouts" TIMEOUT 60
  ENVIRONMENT "${VWALL_TEST_ENV}")

# Exit status 1 and exactly these messages on stderr: "$1" binary, "$2" wall file, then the
# messages, each as printf would print it.
set(vwall_check_fails [=[
  bin=$1; cfg=$2; shift 2
  err=$("$bin" -c "$cfg" --check 2>&1 >/dev/null); rc=$?
  [ "$rc" -eq 1 ] || { echo "exit status $rc, want 1"; echo "$err"; exit 1; }
  for want in "$@"; do
    printf '%s\n' "$err" | grep -qxF -- "$want" || { echo "stderr lacks: $want"; echo "$err"; exit 1; }
  done
  echo "$err"
]=])

# A wall file saved as GBK: the file, the line and the first byte that is not UTF-8.
add_test(NAME check-gbk COMMAND sh -c "${vwall_check_fails}" check-gbk $<TARGET_FILE:vwall>
  ${CMAKE_SOURCE_DIR}/tests/configs/gbk.cfg
  "${CMAKE_SOURCE_DIR}/tests/configs/gbk.cfg:3: not UTF-8 (byte 0xB1); save the file as UTF-8")
# 1e308 where 0.5..3600 s is allowed: shown as written, not as 309 digits.
add_test(NAME check-huge-number COMMAND sh -c "${vwall_check_fails}" check-huge-number
  $<TARGET_FILE:vwall> ${CMAKE_SOURCE_DIR}/tests/configs/huge-number.cfg
  "${CMAKE_SOURCE_DIR}/tests/configs/huge-number.cfg:4: sources[0].stall_timeout = 1e308 is out of range (0.5 to 3600 s)")
# A wall file that is a FIFO is refused at once; before, vwall waited for a writer forever
# (the short timeout is what fails then).
add_test(NAME check-fifo COMMAND sh -c [=[
  dir=$(mktemp -d) && mkfifo "$dir/wall.cfg" || exit 1
  err=$("$1" -c "$dir/wall.cfg" --check 2>&1 >/dev/null); rc=$?
  rm -rf "$dir"
  echo "$err"
  [ "$rc" -eq 1 ] || { echo "exit status $rc, want 1"; exit 1; }
  printf '%s\n' "$err" | grep -qxF "$dir/wall.cfg: cannot open: not a regular file" ||
    { echo "stderr lacks: $dir/wall.cfg: cannot open: not a regular file"; exit 1; }
]=] check-fifo $<TARGET_FILE:vwall>)
# A wall file with a UTF-8 BOM passes.
add_test(NAME check-bom COMMAND $<TARGET_FILE:vwall> -c ${CMAKE_SOURCE_DIR}/tests/configs/bom.cfg
  --check)
set_tests_properties(check-gbk check-huge-number check-bom PROPERTIES LABELS "layouts"
  TIMEOUT 60 ENVIRONMENT "${VWALL_TEST_ENV}")
set_tests_properties(check-fifo PROPERTIES LABELS "layouts" TIMEOUT 10
  ENVIRONMENT "${VWALL_TEST_ENV}")

# Numeric command-line options: junk, trailing junk, NaN, infinity or out of range is an
# error naming the option, exit status 2; good values pass.
add_test(NAME options-numeric COMMAND sh -c [=[
  bin=$1; cfg=$2
  bad() {
    err=$("$bin" -c "$cfg" --check "$1" "$2" 2>&1 >/dev/null); rc=$?
    [ "$rc" -eq 2 ] || { echo "$1 '$2': exit status $rc, want 2"; exit 1; }
    printf '%s\n' "$err" | grep -qF -- "vwall: $1 $2: expected a number from" ||
      { echo "$1 '$2': message does not name the option: $err"; exit 1; }
  }
  bad --max-fps abc; bad --max-fps 30x; bad --max-fps nan; bad --max-fps 0; bad --max-fps 1001
  bad --duration inf; bad --duration 1e999; bad --duration -1; bad --duration ""
  bad --timeout -1; bad --timeout 0x; bad --timeout " "; bad --timeout 86401
  "$bin" -c "$cfg" --check --max-fps 30 --duration 4.5 --timeout 0 >/dev/null ||
    { echo "good values refused"; exit 1; }
  echo "every bad value refused with exit status 2"
]=] options-numeric $<TARGET_FILE:vwall> ${CMAKE_SOURCE_DIR}/layouts/demo.cfg)
set_tests_properties(options-numeric PROPERTIES LABELS "layouts" TIMEOUT 60
  ENVIRONMENT "${VWALL_TEST_ENV}")

# The catalog reader and the UTF-8 validator: a libFuzzer target (-DVWALL_FUZZ=ON with clang)
# and always a regression run over tests/configs/catalog-corpus.
set(VW_FUZZ_CATALOG_SOURCES ${CMAKE_SOURCE_DIR}/tests/fuzz_catalog.c
  ${CMAKE_SOURCE_DIR}/src/model/catalog.c ${CMAKE_SOURCE_DIR}/src/base/utf8.c)
add_executable(fuzz_catalog_regress ${VW_FUZZ_CATALOG_SOURCES})
target_compile_definitions(fuzz_catalog_regress PRIVATE VW_FUZZ_MAIN)
target_include_directories(fuzz_catalog_regress PRIVATE ${CMAKE_SOURCE_DIR}/src)
add_test(NAME fuzz_catalog_corpus
  COMMAND fuzz_catalog_regress ${CMAKE_SOURCE_DIR}/tests/configs/catalog-corpus)
set_tests_properties(fuzz_catalog_corpus PROPERTIES LABELS "unit;fuzz" TIMEOUT 60
  ENVIRONMENT "${VWALL_TEST_ENV}")
if(VWALL_FUZZ)
  add_executable(fuzz_catalog ${VW_FUZZ_CATALOG_SOURCES})
  target_include_directories(fuzz_catalog PRIVATE ${CMAKE_SOURCE_DIR}/src)
  target_compile_options(fuzz_catalog PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_catalog PRIVATE -fsanitize=fuzzer,address,undefined)
endif()

# --node: an id that cluster.nodes lacks, a wall without a cluster group, and --screens with
# it are errors (exit 2) naming what is wrong; a known node checks fine.
add_test(NAME check-node-option COMMAND sh -c [=[
  fail() { echo "$1"; exit 1; }
  err=$("$1" -c "$2" --node z --check 2>&1); rc=$?
  [ "$rc" -eq 2 ] || fail "--node z: exit $rc, want 2"
  printf '%s\n' "$err" | grep -qF -- "--node z: no such node in cluster.nodes" || fail "stderr: $err"
  err=$("$1" -c "$3" --node a --check 2>&1); rc=$?
  [ "$rc" -eq 2 ] || fail "--node a without a cluster: exit $rc, want 2"
  printf '%s\n' "$err" | grep -qF -- "the wall file has no cluster group" || fail "stderr: $err"
  err=$("$1" -c "$2" --node a --screens 0 --check 2>&1); rc=$?
  [ "$rc" -eq 2 ] || fail "--node with --screens: exit $rc, want 2"
  "$1" -c "$2" --node b --check >/dev/null || fail "--node b --check failed"
]=] check-node $<TARGET_FILE:vwall> ${CMAKE_SOURCE_DIR}/layouts/cluster-3node.cfg
    ${CMAKE_SOURCE_DIR}/layouts/demo.cfg)
set_tests_properties(check-node-option PROPERTIES LABELS "layouts" TIMEOUT 60
  ENVIRONMENT "${VWALL_TEST_ENV}")
