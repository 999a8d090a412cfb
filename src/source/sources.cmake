# The fallback event sources (netlink proc connector, procfs polling) behind source/source.hpp.
# Included from the top-level CMakeLists.txt after pidscope_lib:
#   include(src/source/sources.cmake)
add_library(pidscope_sources STATIC
  ${CMAKE_CURRENT_LIST_DIR}/netlink_source.cpp
  ${CMAKE_CURRENT_LIST_DIR}/procfs_source.cpp
)
target_include_directories(pidscope_sources PUBLIC ${CMAKE_CURRENT_LIST_DIR}/..)
target_link_libraries(pidscope_sources PUBLIC pidscope_lib)
