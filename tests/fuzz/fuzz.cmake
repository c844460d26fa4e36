# libFuzzer targets (-DSPARSETRAIN_FUZZ=ON, clang): tests/fuzz/<name>_fuzz.cpp -> fuzz_<name>.
# Every library is built with the same sanitizers (address,undefined: CMakeLists.txt); the
# modules the fuzzers exercise also get libFuzzer's coverage instrumentation, which guides
# the search. The compute modules (kernels, lsh, model, ...) do not: they would gain nothing
# and the same build runs the sanitized test suite, which they dominate. The fuzzers add
# libFuzzer's main. scripts/fuzz.sh builds them, seeds their corpora and runs each.
foreach(mod util data cli checkpoint)
  target_compile_options(st_${mod} PRIVATE -fsanitize=fuzzer-no-link)
endforeach()
file(GLOB fuzz_srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/fuzz/*_fuzz.cpp)
set(ST_FUZZ_TARGETS "")
foreach(src IN LISTS fuzz_srcs)
  get_filename_component(stem ${src} NAME_WE)
  string(REGEX REPLACE "_fuzz$" "" name ${stem})
  add_executable(fuzz_${name} ${src})
  target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  target_include_directories(fuzz_${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/fuzz)
  target_link_libraries(fuzz_${name} PRIVATE st_train)
  list(APPEND ST_FUZZ_TARGETS fuzz_${name})
endforeach()
add_custom_target(fuzzers DEPENDS ${ST_FUZZ_TARGETS})
