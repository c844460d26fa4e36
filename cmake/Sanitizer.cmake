# Sanitizer builds (after LightGBM's cmake/Sanitizer.cmake).
#
#   cmake -B build-asan -DSPARSETRAIN_SANITIZE=address,undefined
#
# enable_sanitizers("address,undefined") adds -fsanitize=... to every compile and link
# in the directory it is called from and below, so the libraries, the binary, the unit
# tests and the MPI test programs are all instrumented. Open MPI and HDF5 stay the system
# libraries (not instrumented); their known leaks are suppressed in
# cmake/lsan.supp, compiled into every executable (st_add_sanitizer_defaults below).
#
# Supported: address, undefined, leak (alone or with address), thread (alone).
# UBSan errors are fatal (-fno-sanitize-recover), so a test that triggers one fails.

set(ST_SANITIZER_DIR ${CMAKE_CURRENT_LIST_DIR})

function(st_sanitizer_flag san out)
  if(san STREQUAL "address")
    set(${out} "address" PARENT_SCOPE)
  elseif(san STREQUAL "undefined")
    set(${out} "undefined" PARENT_SCOPE)
  elseif(san STREQUAL "leak")
    set(${out} "leak" PARENT_SCOPE)
  elseif(san STREQUAL "thread")
    set(${out} "thread" PARENT_SCOPE)
  else()
    message(FATAL_ERROR "SPARSETRAIN_SANITIZE: unknown sanitizer '${san}' (use address, undefined, leak, thread)")
  endif()
endfunction()

# Sets ST_SANITIZE_FLAGS (the -fsanitize=... list) in the caller and adds the compile and
# link options.
macro(enable_sanitizers sanitizers)
  string(REPLACE "," ";" _st_sans "${sanitizers}")
  string(TOLOWER "${_st_sans}" _st_sans)
  set(_st_list "")
  foreach(_st_san IN LISTS _st_sans)
    string(STRIP "${_st_san}" _st_san)
    if(_st_san STREQUAL "")
      continue()
    endif()
    st_sanitizer_flag(${_st_san} _st_flag)
    list(APPEND _st_list ${_st_flag})
  endforeach()
  list(REMOVE_DUPLICATES _st_list)
  if("thread" IN_LIST _st_list AND NOT _st_list STREQUAL "thread")
    message(FATAL_ERROR "SPARSETRAIN_SANITIZE: thread cannot be combined with other sanitizers")
  endif()
  list(JOIN _st_list "," _st_joined)
  set(ST_SANITIZE_FLAGS -fsanitize=${_st_joined} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  if("undefined" IN_LIST _st_list)
    # -fsanitize=undefined does not include these two; both are cheap and catch real bugs.
    list(APPEND ST_SANITIZE_FLAGS -fsanitize=float-cast-overflow)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
      # vptr needs RTTI everywhere, and Boost/GTest come from the system: keep it off.
      list(APPEND ST_SANITIZE_FLAGS -fno-sanitize=vptr)
    endif()
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC's manual: sanitizers raise the rate of false -Wmaybe-uninitialized warnings (GCC 12
    # reports libstdc++'s <regex> here), which SPARSETRAIN_WERROR would make errors.
    list(APPEND ST_SANITIZE_FLAGS -Wno-maybe-uninitialized)
  endif()
  add_compile_options(${ST_SANITIZE_FLAGS})
  add_link_options(${ST_SANITIZE_FLAGS})
  set(ST_SANITIZERS ${_st_list})
  message(STATUS "sparsetrain: sanitizers ${_st_joined} (${ST_SANITIZE_FLAGS})")
endmacro()

# Every executable gets the sanitizer defaults compiled in (sanitizer_defaults.cpp.in):
# the options below and the LSan suppressions of lsan.supp, so a sanitized binary behaves
# the same under ctest, under mpirun and run by hand, with no environment to set. The
# usual ASAN_OPTIONS / LSAN_OPTIONS / UBSAN_OPTIONS still override or add to them.
function(st_add_sanitizer_defaults)
  file(READ ${ST_SANITIZER_DIR}/lsan.supp ST_LSAN_SUPPRESSIONS)
  configure_file(${ST_SANITIZER_DIR}/sanitizer_defaults.cpp.in
                 ${CMAKE_BINARY_DIR}/sanitizer_defaults.cpp @ONLY)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${ST_SANITIZER_DIR}/lsan.supp)
  get_property(targets DIRECTORY ${PROJECT_SOURCE_DIR} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(t IN LISTS targets)
    get_target_property(type ${t} TYPE)
    if(type STREQUAL "EXECUTABLE")
      target_sources(${t} PRIVATE ${CMAKE_BINARY_DIR}/sanitizer_defaults.cpp)
    endif()
  endforeach()
endfunction()
