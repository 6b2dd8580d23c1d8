# cmake/peers_go.cmake: the Go peers of corio-bench (bench/peers/go/NAME/main.go, one
# `package main` each, sharing bench/peers/go/serve; standard library only, one module:
# bench/peers/go/go.mod), built with
# the go tool into <build>/peers/go-NAME and installed beside the other peers
# (${CORIO_PEER_LIBEXEC}), where corio-bench finds them (bench_peer_bin).
#
# Included from CMakeLists.txt inside if(CORIO_BUILD_BENCH). Without go, nothing is built and
# corio-bench reports the Go peers skipped; with go, a peer that does not build fails the
# build (it is our bug).
#
# Each program is a target of ALL (go-NAME) whose command runs only when a .go file of its
# folder or go.mod changed. The go tool gets an environment of its own, so that the build is
# the same on every machine and never reaches the network: GOCACHE and GOPATH inside the
# build directory (no $HOME needed), GOPROXY=off and GOTOOLCHAIN=local (no module or
# toolchain download; the peers have no dependencies), GOFLAGS empty and GOWORK=off (nothing
# from the user's settings or a go.work above the tree), GO111MODULE=on, CGO_ENABLED=0 (no C
# compiler involved; static binaries). -trimpath keeps the build directory's paths out of
# the binaries; -buildvcs=false keeps git out of the build (Go would otherwise run git to
# stamp the binaries, and fail where git refuses the tree, e.g. one owned by another user).
# The targets are chained one after another: the first compiles the standard library
# packages into the shared cache and the others reuse them, where parallel builds would
# each compile them at once.
#
# A peer whose main.go imports golang.org/x/... (go-ws: golang.org/x/net/websocket) cannot
# be built in that module without a dependency the module would have to download; it is
# built in GOPATH mode instead (GO111MODULE=off), against the Go sources Debian installs in
# CORIO_GOCODE (/usr/share/gocode: golang-golang-x-net-dev, scripts/deps.sh bench), with a
# GOPATH in the build directory where src/corio.bench/peers links to bench/peers/go (so that
# it imports corio.bench/peers/serve like the others). Without those sources it is not built
# (a status line says so) and corio-bench reports it skipped.

find_program(CORIO_GO go)
if(NOT CORIO_GO)
  message(STATUS "corio: go not found, the Go peers are not built")
else()
  set(_go_src "${CMAKE_CURRENT_SOURCE_DIR}/bench/peers/go")
  set(_go_env
    "GOCACHE=${CMAKE_CURRENT_BINARY_DIR}/go-cache"
    "GOPATH=${CMAKE_CURRENT_BINARY_DIR}/go-path"
    GOPROXY=off GOTOOLCHAIN=local GOFLAGS= GOWORK=off GO111MODULE=on CGO_ENABLED=0)
  set(CORIO_GOCODE "/usr/share/gocode" CACHE PATH
      "Debian's Go sources (golang-*-dev), for the peers that import golang.org/x/...")
  set(_go_gopath "${CMAKE_CURRENT_BINARY_DIR}/go-gopath")
  file(GLOB _go_mains CONFIGURE_DEPENDS "${_go_src}/*/main.go")
  # The package every server shares (bench/peers/go/serve): a change rebuilds them all.
  file(GLOB _go_shared CONFIGURE_DEPENDS "${_go_src}/serve/*.go")
  list(SORT _go_mains)
  set(_go_prev "")
  foreach(_main ${_go_mains})
    get_filename_component(_dir "${_main}" DIRECTORY)
    get_filename_component(_name "${_dir}" NAME)
    file(GLOB _go_files CONFIGURE_DEPENDS "${_dir}/*.go")
    set(_out "${CMAKE_CURRENT_BINARY_DIR}/peers/go-${_name}")
    file(READ "${_main}" _text)
    if(_text MATCHES "\"golang\\.org/x/([a-z]+)/")
      set(_x "${CMAKE_MATCH_1}")
      if(NOT IS_DIRECTORY "${CORIO_GOCODE}/src/golang.org/x/${_x}")
        message(STATUS "corio: ${CORIO_GOCODE}/src/golang.org/x/${_x} not found "
                       "(golang-golang-x-${_x}-dev), not building go-${_name}")
        continue()
      endif()
      string(REPLACE "GO111MODULE=on" "GO111MODULE=off" _env_x "${_go_env}")
      string(REPLACE "GOPATH=${CMAKE_CURRENT_BINARY_DIR}/go-path"
                     "GOPATH=${_go_gopath}:${CORIO_GOCODE}" _env_x "${_env_x}")
      add_custom_command(
        OUTPUT "${_out}"
        COMMAND ${CMAKE_COMMAND} -E make_directory "${CMAKE_CURRENT_BINARY_DIR}/peers"
                "${_go_gopath}/src/corio.bench"
        COMMAND ${CMAKE_COMMAND} -E create_symlink "${_go_src}"
                "${_go_gopath}/src/corio.bench/peers"
        COMMAND ${CMAKE_COMMAND} -E env ${_env_x}
                "${CORIO_GO}" build -trimpath -buildvcs=false -o "${_out}"
                corio.bench/peers/${_name}
        WORKING_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}"
        DEPENDS ${_go_files} ${_go_shared}
        COMMENT "Building Go peer go-${_name} (GOPATH mode, ${CORIO_GOCODE})"
        VERBATIM)
    else()
      add_custom_command(
        OUTPUT "${_out}"
        COMMAND ${CMAKE_COMMAND} -E make_directory "${CMAKE_CURRENT_BINARY_DIR}/peers"
        COMMAND ${CMAKE_COMMAND} -E env ${_go_env}
                "${CORIO_GO}" build -trimpath -buildvcs=false -o "${_out}" ./${_name}
        WORKING_DIRECTORY "${_go_src}"
        DEPENDS ${_go_files} ${_go_shared} "${_go_src}/go.mod"
        COMMENT "Building Go peer go-${_name}"
        VERBATIM)
    endif()
    add_custom_target(go-${_name} ALL DEPENDS "${_out}")
    if(_go_prev)
      add_dependencies(go-${_name} ${_go_prev})
    endif()
    set(_go_prev go-${_name})
    install(PROGRAMS "${_out}" DESTINATION ${CORIO_PEER_LIBEXEC} OPTIONAL)
  endforeach()
endif()
