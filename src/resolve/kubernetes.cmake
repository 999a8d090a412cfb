# Kubernetes names (resolve/kubernetes.hpp): pod, namespace and container names from the kubelet
# or the API server. A library of its own so that pidscope_lib does not depend on libcurl.
# Included from the top-level CMakeLists.txt after pidscope_lib:
#   include(src/resolve/kubernetes.cmake)
pkg_check_modules(LIBCURL REQUIRED IMPORTED_TARGET libcurl)
find_package(nlohmann_json 3 REQUIRED)
add_library(pidscope_kubernetes STATIC
  ${CMAKE_CURRENT_LIST_DIR}/kubernetes.cpp
)
target_include_directories(pidscope_kubernetes PUBLIC ${CMAKE_CURRENT_LIST_DIR}/..)
target_link_libraries(pidscope_kubernetes
  PUBLIC pidscope_lib Threads::Threads
  PRIVATE PkgConfig::LIBCURL nlohmann_json::nlohmann_json)
