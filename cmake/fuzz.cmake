# cmake/fuzz.cmake: the libFuzzer targets of tests/fuzz/ (one fuzz_<name>.c each), built two
# ways. Included from CMakeLists.txt after the library and the tests.
#
#   every build with CORIO_BUILD_TESTS: fuzz_replay_<name>, the target with
#     tests/fuzz/replay.c as its main(), registered with ctest over tests/fuzz/corpus/<name>/
#     and tests/fuzz/regress/<name>/ (gcc is enough; the ASan build runs it sanitized)
#   CORIO_BUILD_FUZZ=ON (clang only, `make fuzz`): fuzz_<name>, linked with libFuzzer, with
#     the library's objects compiled -fsanitize=fuzzer-no-link,address,undefined so that
#     the parsers' branches guide the fuzzer
file(GLOB CORIO_FUZZ_SOURCES CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/tests/fuzz/fuzz_*.c")
set(_corio_fuzz_dir "${CMAKE_CURRENT_SOURCE_DIR}/tests/fuzz")

if(CORIO_BUILD_TESTS)
  foreach(_src ${CORIO_FUZZ_SOURCES})
    get_filename_component(_name "${_src}" NAME_WE) # fuzz_<name>
    string(REGEX REPLACE "^fuzz_" "" _short "${_name}")
    add_executable(fuzz_replay_${_short} "${_src}" "${_corio_fuzz_dir}/replay.c")
    target_link_libraries(fuzz_replay_${_short} PRIVATE corio_static corio_private)
    # Both folders must exist (regress/<name>/ holds a .keep until a crash is found):
    # the driver fails on a missing one, so a renamed corpus cannot pass by replaying nothing.
    add_test(NAME fuzz_replay_${_short}
             COMMAND fuzz_replay_${_short} "${_corio_fuzz_dir}/corpus/${_short}"
                     "${_corio_fuzz_dir}/regress/${_short}")
    set_tests_properties(fuzz_replay_${_short} PROPERTIES TIMEOUT 300)
  endforeach()
endif()

if(CORIO_BUILD_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "corio: CORIO_BUILD_FUZZ needs clang (libFuzzer), not "
                        "${CMAKE_C_COMPILER_ID}: configure with -DCMAKE_C_COMPILER=clang")
  endif()
  set(_corio_fuzz_common -fsanitize=address,undefined -fno-sanitize-recover=undefined
                         -fno-omit-frame-pointer -g)
  target_compile_options(corio_objects PRIVATE -fsanitize=fuzzer-no-link ${_corio_fuzz_common})
  # The sanitizer runtimes come with the fuzz programs: a shared library built from these
  # objects would fail its --no-undefined link, and nothing here needs it.
  set_target_properties(corio_shared PROPERTIES EXCLUDE_FROM_ALL ON)
  set(_corio_fuzz_targets "")
  foreach(_src ${CORIO_FUZZ_SOURCES})
    get_filename_component(_name "${_src}" NAME_WE)
    add_executable(${_name} "${_src}")
    target_compile_options(${_name} PRIVATE -fsanitize=fuzzer ${_corio_fuzz_common})
    target_link_options(${_name} PRIVATE -fsanitize=fuzzer ${_corio_fuzz_common})
    target_link_libraries(${_name} PRIVATE corio_static corio_private)
    list(APPEND _corio_fuzz_targets ${_name})
  endforeach()
  add_custom_target(fuzz_targets DEPENDS ${_corio_fuzz_targets})
endif()
