# Modules without GL: geometry, the wall state and its store, the CPU picture scaler.
foreach(t geometry state cpu_picture)
  add_executable(test_${t} ${CMAKE_SOURCE_DIR}/tests/test_${t}.c)
  target_link_libraries(test_${t} PRIVATE vwall_core)
  add_test(NAME ${t} COMMAND test_${t})
  set_tests_properties(${t} PROPERTIES LABELS "unit" TIMEOUT 30 ENVIRONMENT "${VWALL_TEST_ENV}")
endforeach()
# the state's store hands its value to a writer thread: also under TSan
set_tests_properties(state PROPERTIES LABELS "unit;tsan")
# cpu_picture checks every pixel against a reference in doubles: slower under -O0 sanitizers
set_tests_properties(cpu_picture PROPERTIES TIMEOUT 120)
