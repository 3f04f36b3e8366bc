# The same render tests with the pictures drawn by shaders (--compose gpu) and by
# libswscale (--compose cpu, what "auto" picks on software GL).
foreach(compose gpu cpu)
  set(name render_wall)
  if(compose STREQUAL "cpu")
    set(name render_wall_cpu)
  endif()
  add_test(NAME ${name}
    COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/render_test.py $<TARGET_FILE:vwall> ${CMAKE_BINARY_DIR}/clips)
  set_tests_properties(${name} PROPERTIES LABELS "gl;integration" TIMEOUT 600
    FIXTURES_REQUIRED clips ENVIRONMENT "${VWALL_TEST_ENV};VWALL_TEST_COMPOSE=${compose}")
endforeach()

# Overload: six 1080p60 streams on one core; the smallest tiles shed non-reference frames.
add_test(NAME load
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/load_test.py $<TARGET_FILE:vwall> ${CMAKE_BINARY_DIR}/clips)
set_tests_properties(load PROPERTIES LABELS "integration" TIMEOUT 120
  FIXTURES_REQUIRED clips ENVIRONMENT "${VWALL_TEST_ENV}")

# Real display servers, headless: output = "displays" on Xorg's dummy driver with two RandR
# outputs (root only: exit 77 = skipped otherwise), and SDL's wayland driver on sway.
foreach(part displays wayland)
  add_test(NAME outputs_${part}
    COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/outputs_test.py $<TARGET_FILE:vwall>
            ${CMAKE_BINARY_DIR}/clips ${part})
  set_tests_properties(outputs_${part} PROPERTIES LABELS "gl;integration" TIMEOUT 120
    SKIP_RETURN_CODE 77 FIXTURES_REQUIRED clips ENVIRONMENT "${VWALL_TEST_ENV}")
endforeach()
# SDL 2.26's wayland backend leaks what its listener callbacks allocate (a 30-line SDL
# program that opens and closes a GL window on sway leaks the same blocks), and SDL is built
# without frame pointers, so LeakSanitizer's stacks stop inside SDL and no suppression can
# tell those leaks from ours (full unwinding makes the run too slow to test). Leak checking
# is off for this test only: every other test checks vwall's leaks under ASan.
set(wayland_env ${VWALL_TEST_ENV})
list(FILTER wayland_env EXCLUDE REGEX "^ASAN_OPTIONS=")
list(APPEND wayland_env "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:intercept_tls_get_addr=0")
set_tests_properties(outputs_wayland PROPERTIES ENVIRONMENT "${wayland_env}")

# Steady state allocates nothing per frame: vwall under heaptrack for 4 and 8 s, the
# difference charged to whoever allocated; only decoding (FFmpeg) and drawing (Mesa) may.
# Not under sanitizers (heaptrack and ASan both replace malloc).
if(NOT VWALL_SANITIZE)
  add_test(NAME allocs
    COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/bench/allocs.py --vwall $<TARGET_FILE:vwall>
            --duration 4 --out ${CMAKE_BINARY_DIR}/allocs --check
            --clip ${CMAKE_BINARY_DIR}/clips/moving.mp4 --clip ${CMAKE_BINARY_DIR}/clips/red.mp4
            --clip ${CMAKE_BINARY_DIR}/clips/stripes.mp4 --clip ${CMAKE_BINARY_DIR}/clips/moving.mp4)
  set_tests_properties(allocs PROPERTIES LABELS "gl;integration" TIMEOUT 300
    FIXTURES_REQUIRED clips ENVIRONMENT "${VWALL_TEST_ENV}")
endif()
