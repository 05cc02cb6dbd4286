# Warnings are on for our own targets and kept clean.
add_library(cluster_warnings INTERFACE)
target_compile_options(cluster_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Woverloaded-virtual)
