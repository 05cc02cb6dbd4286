# Installs the headers, the library, noded, clusterctl and a CMake package config,
# so another project can `find_package(libcluster)` and link `cluster::cluster`.
include(CMakePackageConfigHelpers)
install(TARGETS cluster EXPORT libclusterTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY libcluster/include/cluster DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS noded clusterctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT libclusterTargets NAMESPACE cluster::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/libcluster)
configure_package_config_file(cmake/libclusterConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/libclusterConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/libcluster)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/libclusterConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/libclusterConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/libclusterConfigVersion.cmake
              ${CMAKE_CURRENT_SOURCE_DIR}/cmake/module.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/libcluster)
