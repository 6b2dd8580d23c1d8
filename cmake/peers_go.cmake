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

find_program(CORIO_GO go)
if(NOT CORIO_GO)
  message(STATUS "corio: go not found, the Go peers are not built")
else()
  set(_go_src "${CMAKE_CURRENT_SOURCE_DIR}/bench/peers/go")
  set(_go_env
    "GOCACHE=${CMAKE_CURRENT_BINARY_DIR}/go-cache"
    "GOPATH=${CMAKE_CURRENT_BINARY_DIR}/go-path"
    GOPROXY=off GOTOOLCHAIN=local GOFLAGS= GOWORK=off GO111MODULE=on CGO_ENABLED=0)
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
    add_custom_command(
      OUTPUT "${_out}"
      COMMAND ${CMAKE_COMMAND} -E make_directory "${CMAKE_CURRENT_BINARY_DIR}/peers"
      COMMAND ${CMAKE_COMMAND} -E env ${_go_env}
              "${CORIO_GO}" build -trimpath -buildvcs=false -o "${_out}" ./${_name}
      WORKING_DIRECTORY "${_go_src}"
      DEPENDS ${_go_files} ${_go_shared} "${_go_src}/go.mod"
      COMMENT "Building Go peer go-${_name}"
      VERBATIM)
    add_custom_target(go-${_name} ALL DEPENDS "${_out}")
    if(_go_prev)
      add_dependencies(go-${_name} ${_go_prev})
    endif()
    set(_go_prev go-${_name})
    install(PROGRAMS "${_out}" DESTINATION ${CORIO_PEER_LIBEXEC} OPTIONAL)
  endforeach()
endif()
