# A wrong-way dependency fails the build (docs/ARCHITECTURE.md, "Layers").
#
# hs_layer_check(<library>) links a tiny executable with the whole of
# <library> (every object in it, used or not) and nothing but what
# <library> itself declares with target_link_libraries. A symbol that any
# of its objects takes from a layer it does not declare (a higher one, say)
# is then undefined, and the link fails. A wrong-way include of a header
# whose functions are all inline leaves no symbol behind: the include test
# (tests/layers/check_layers.py) catches those.
set(HS_LAYER_CHECK_MAIN ${CMAKE_CURRENT_LIST_DIR}/layer_check_main.cpp)

function(hs_layer_check library)
  set(check hs_layer_check_${library})
  add_executable(${check} ${HS_LAYER_CHECK_MAIN})
  if(CMAKE_VERSION VERSION_GREATER_EQUAL 3.24)
    target_link_libraries(${check} PRIVATE "$<LINK_LIBRARY:WHOLE_ARCHIVE,${library}>")
  else()
    target_link_libraries(${check} PRIVATE -Wl,--whole-archive ${library} -Wl,--no-whole-archive)
  endif()
  set_target_properties(${check} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/layer_check)
endfunction()
