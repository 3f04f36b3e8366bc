# renderer, label and png: GL through SDL's offscreen driver and Mesa (never skipped).


add_executable(test_renderer ${CMAKE_SOURCE_DIR}/tests/test_renderer.c)
target_link_libraries(test_renderer PRIVATE vwall_core)
target_compile_definitions(test_renderer PRIVATE
  VWALL_TEST_SHADER_DIR="${CMAKE_SOURCE_DIR}/shaders"
  VWALL_TEST_CLIPS_DIR="${CMAKE_BINARY_DIR}/clips")
add_test(NAME test_renderer COMMAND test_renderer)
set_tests_properties(test_renderer PROPERTIES LABELS gl TIMEOUT 120
  FIXTURES_REQUIRED clips
  ENVIRONMENT "${VWALL_TEST_ENV}")
