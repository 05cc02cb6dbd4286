# CLUSTER_SANITIZE=address builds everything with ASan+UBSan; =thread with TSan;
# =fuzzer (clang only) instruments everything for libFuzzer, with ASan+UBSan,
# and links the fuzz targets of tests/fuzz with libFuzzer (scripts/fuzz.sh).
if(CLUSTER_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(CLUSTER_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  # GCC 12 warns at every atomic_thread_fence, which TSan does not model:
  # Asio's handler completions use them (55 warnings, none in our code).
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12)
    add_compile_options(-Wno-tsan)
  endif()
elseif(CLUSTER_SANITIZE STREQUAL "fuzzer")
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "CLUSTER_SANITIZE=fuzzer needs clang (CXX=clang++)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(NOT CLUSTER_SANITIZE STREQUAL "")
  message(FATAL_ERROR "CLUSTER_SANITIZE must be empty, 'address', 'thread' or 'fuzzer'")
endif()
