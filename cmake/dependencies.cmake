# Every dependency comes from a Debian package (see scripts/install-deps.sh).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(cppzmq REQUIRED)                      # cppzmq-dev, libzmq3-dev
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)  # libsodium-dev
find_package(CLI11 REQUIRED)                       # libcli11-dev

# msgpack-cxx ships a CMake config that insists on Boost; we use it header-only
# without Boost, so find the header and define the switch ourselves.
find_path(MSGPACK_INCLUDE_DIR msgpack.hpp REQUIRED)  # libmsgpack-cxx-dev
add_library(cluster_msgpack INTERFACE)
target_include_directories(cluster_msgpack SYSTEM INTERFACE ${MSGPACK_INCLUDE_DIR})
target_compile_definitions(cluster_msgpack INTERFACE MSGPACK_NO_BOOST MSGPACK_DEFAULT_API_VERSION=3)

# Standalone Asio is header-only (libasio-dev).
find_path(ASIO_INCLUDE_DIR asio.hpp REQUIRED)
add_library(cluster_asio INTERFACE)
target_include_directories(cluster_asio SYSTEM INTERFACE ${ASIO_INCLUDE_DIR})
target_compile_definitions(cluster_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED)
target_link_libraries(cluster_asio INTERFACE Threads::Threads)

if(CLUSTER_BUILD_TESTS)
  find_package(doctest REQUIRED)                   # doctest-dev
endif()
