# Compiler setup shared by every target: ccache, sanitizers and one warning set.

find_program(UIO_CCACHE ccache)
if(UIO_CCACHE)
  # Precompiled headers are only cacheable with these sloppiness settings.
  set(_uio_launcher "${CMAKE_COMMAND}" -E env
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      "${UIO_CCACHE}")
  set(CMAKE_CXX_COMPILER_LAUNCHER ${_uio_launcher})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${_uio_launcher})
endif()

if(UIO_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "UIO_BUILD_FUZZERS needs Clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++")
  endif()
  set(UIO_SANITIZE_ADDRESS ON)
  # Coverage for the fuzzers in every library they reach; the fuzz targets link libFuzzer itself.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(UIO_SANITIZE_ADDRESS)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# uio_set_warnings(<target>): the one place warning flags are chosen.
function(uio_set_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wnon-virtual-dtor -Wimplicit-fallthrough
                              -Wno-unused-parameter>
    $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:GNU>>:-Wshadow=local>)
endfunction()
