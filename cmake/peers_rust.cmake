# cmake/peers_rust.cmake: builds the Rust peers of corio-bench (bench/peers/rust: tokio-micro,
# tokio-echo, hyper-http, hyper-httpc; issue #13) with Debian's cargo and rustc, offline, from
# Debian's crate registry (librust-tokio-dev, librust-hyper-dev), and puts them into
# <build>/peers/ beside the C peers; `make install` copies them to <prefix>/libexec/corio.
# CMakeLists.txt includes it inside if(CORIO_BUILD_BENCH), where CORIO_PEER_LIBEXEC is set,
# and only when CORIO_BUILD_LANG_PEERS is on, by default in Release builds only (`make
# bench`, `make install`): the Debug and sanitizer builds of `make test` have no use for a
# few CPU-minutes of cargo.
#
# Only Debian's toolchain (CORIO_RUST_CARGO, CORIO_RUST_RUSTC: /usr/bin/cargo and
# /usr/bin/rustc, never a rustup one found first in PATH) and only Debian's crates: cargo runs
# in bench/peers/rust, whose .cargo/config.toml replaces crates-io by the directory source
# /usr/share/cargo/registry and forbids the network, with CARGO_HOME and CARGO_TARGET_DIR in
# the build directory (nothing from ~/.cargo is read) and PATH=/usr/bin:/bin. When the
# toolchain or the crates are missing there is a note and nothing else: corio-bench reports
# the peers skipped.
#
# One custom command builds the four programs (cargo decides what to recompile) and copies
# them into <build>/peers; it runs again only when a .rs file, Cargo.toml, Cargo.lock or the
# cargo config changed (a new .rs file is seen too: GLOB CONFIGURE_DEPENDS), through a stamp
# file that it writes last. The command is this file run as a script (cmake -P, the branch
# just below): when cargo fails it says so with a warning, removes the peers' old copies and
# still writes the stamp, so that a peer that cannot be built is reported skipped by
# corio-bench and never fails the build or `make bench` (and is not retried at every build:
# touch a source, or remove <build>/cargo-target/peers.stamp, to try again).

if(CMAKE_SCRIPT_MODE_FILE)
  # cmake -DPKG=.. -DTARGET_DIR=.. -DCARGO_HOME=.. -DCARGO=.. -DRUSTC=.. -DPEERS=..
  #       -DBINS=a,b,.. -DSTAMP=.. -P peers_rust.cmake
  set(ENV{PATH} "/usr/bin:/bin") # a rustup cargo or rustc first in PATH must not win
  foreach(_v RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS RUSTC_WRAPPER
             RUSTUP_TOOLCHAIN CARGO_BUILD_TARGET)
    unset(ENV{${_v}})
  endforeach()
  set(ENV{CARGO} "${CARGO}")
  set(ENV{RUSTC} "${RUSTC}")
  set(ENV{CARGO_HOME} "${CARGO_HOME}")
  set(ENV{CARGO_TARGET_DIR} "${TARGET_DIR}")
  file(REMOVE "${STAMP}")
  execute_process(COMMAND "${CARGO}" build --release --offline --quiet
                  WORKING_DIRECTORY "${PKG}" # where cargo finds .cargo/config.toml
                  RESULT_VARIABLE _rc)
  file(MAKE_DIRECTORY "${PEERS}")
  string(REPLACE "," ";" BINS "${BINS}")
  foreach(_name ${BINS})
    if(_rc EQUAL 0)
      file(COPY_FILE "${TARGET_DIR}/release/${_name}" "${PEERS}/${_name}")
    else()
      file(REMOVE "${PEERS}/${_name}")
    endif()
  endforeach()
  if(_rc EQUAL 0)
    file(WRITE "${STAMP}" "built\n")
  else()
    message(WARNING "corio: cargo failed (${_rc}), the Rust peers are not built "
                    "(corio-bench reports them skipped)")
    file(WRITE "${STAMP}" "cargo failed: ${_rc}\n")
  endif()
  return()
endif()

set(CORIO_RUST_CARGO "/usr/bin/cargo" CACHE FILEPATH "cargo for the Rust peers (Debian's)")
set(CORIO_RUST_RUSTC "/usr/bin/rustc" CACHE FILEPATH "rustc for the Rust peers (Debian's)")
# Debian's crate registry: the directory source of bench/peers/rust/.cargo/config.toml.
set(CORIO_RUST_REGISTRY "/usr/share/cargo/registry")

function(corio_rust_peers)
  foreach(_tool CORIO_RUST_CARGO CORIO_RUST_RUSTC)
    if(NOT EXISTS "${${_tool}}")
      message(STATUS "corio: ${${_tool}} not found, the Rust peers are not built")
      return()
    endif()
  endforeach()
  foreach(_crate tokio-1 hyper-0.14)
    file(GLOB _found LIST_DIRECTORIES true "${CORIO_RUST_REGISTRY}/${_crate}.*")
    if(NOT _found)
      message(STATUS "corio: the ${_crate} crate not found in ${CORIO_RUST_REGISTRY}, "
                     "the Rust peers are not built")
      return()
    endif()
  endforeach()

  set(_pkg "${CMAKE_CURRENT_SOURCE_DIR}/bench/peers/rust")
  set(_target_dir "${CMAKE_CURRENT_BINARY_DIR}/cargo-target")
  set(_stamp "${_target_dir}/peers.stamp")
  file(GLOB_RECURSE _sources CONFIGURE_DEPENDS "${_pkg}/src/*.rs")
  file(GLOB _bins CONFIGURE_DEPENDS "${_pkg}/src/bin/*.rs")
  set(_names "")
  set(_outputs "")
  foreach(_src ${_bins})
    get_filename_component(_name "${_src}" NAME_WE)
    list(APPEND _names "${_name}")
    list(APPEND _outputs "${CMAKE_CURRENT_BINARY_DIR}/peers/${_name}")
  endforeach()
  if(NOT _names)
    return()
  endif()
  string(REPLACE ";" "," _names_arg "${_names}") # a ';' would split the command line

  add_custom_command(
    OUTPUT "${_stamp}"
    BYPRODUCTS ${_outputs}
    COMMAND "${CMAKE_COMMAND}"
            "-DPKG=${_pkg}" "-DTARGET_DIR=${_target_dir}"
            "-DCARGO_HOME=${CMAKE_CURRENT_BINARY_DIR}/cargo-home"
            "-DCARGO=${CORIO_RUST_CARGO}" "-DRUSTC=${CORIO_RUST_RUSTC}"
            "-DPEERS=${CMAKE_CURRENT_BINARY_DIR}/peers" "-DBINS=${_names_arg}"
            "-DSTAMP=${_stamp}"
            -P "${CMAKE_CURRENT_LIST_FILE}"
    DEPENDS ${_sources} "${_pkg}/Cargo.toml" "${_pkg}/Cargo.lock"
            "${_pkg}/.cargo/config.toml" "${CMAKE_CURRENT_LIST_FILE}"
    COMMENT "Building the Rust peers (Debian's cargo, offline, Debian's crates)"
    VERBATIM)
  add_custom_target(corio_rust_peers ALL DEPENDS "${_stamp}")
  install(PROGRAMS ${_outputs} DESTINATION ${CORIO_PEER_LIBEXEC} OPTIONAL)
endfunction()

corio_rust_peers()
