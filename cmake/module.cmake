# cluster_add_module(<target> <source>...): builds a libcluster module, a
# shared object named lib<target>.so for `noded --module` and `clusterctl
# load` (see cluster/module.hpp and docs/MODULES.md). It links nothing: the
# node that loads it supplies libcluster's symbols.
function(cluster_add_module target)
  add_library(${target} MODULE ${ARGN})
  target_include_directories(${target} PRIVATE $<TARGET_PROPERTY:cluster::cluster,INTERFACE_INCLUDE_DIRECTORIES>)
  target_compile_features(${target} PRIVATE cxx_std_20)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GNU "unique" symbols (statics of inline functions) would pin the object
    # in memory: an old version could never be unloaded.
    target_compile_options(${target} PRIVATE -fno-gnu-unique)
  endif()
endfunction()
