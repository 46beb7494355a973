# tests/tools/fault_shim.cpp: the LD_PRELOAD library behind the run-folder fault tests (issue #15). The
# tests that preload it get its path as NEUROAI_FAULT_SHIM.
add_library(neuroai_fault_shim SHARED ${CMAKE_CURRENT_LIST_DIR}/fault_shim.cpp)
target_link_libraries(neuroai_fault_shim PRIVATE ${CMAKE_DL_LIBS})
target_compile_options(neuroai_fault_shim PRIVATE ${NEUROAI_WARNINGS})
foreach(t test_run_faults test_bad_input)
  if(TARGET ${t})
    add_dependencies(${t} neuroai_fault_shim)
    target_compile_definitions(${t} PRIVATE NEUROAI_FAULT_SHIM="$<TARGET_FILE:neuroai_fault_shim>")
  endif()
endforeach()
