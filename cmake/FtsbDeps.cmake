# FtsbDeps.cmake - find the Debian 12 packages ftsb needs, and say which
# package to install when one is missing.  Each dependency becomes an
# imported target named ftsb::<name>.
find_package(PkgConfig)
find_package(Threads REQUIRED)

function(ftsb_require_pkg target module debian_pkg)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(${target} QUIET IMPORTED_TARGET GLOBAL ${module})
  endif()
  if(NOT ${target}_FOUND)
    message(FATAL_ERROR
      "ftsb needs ${module}, which was not found.\n"
      "On Debian 12: apt-get install ${debian_pkg} pkg-config")
  endif()
  add_library(ftsb::${target} ALIAS PkgConfig::${target})
endfunction()

ftsb_require_pkg(lua lua5.4 liblua5.4-dev)
ftsb_require_pkg(cjson libcjson libcjson-dev)
ftsb_require_pkg(curl libcurl libcurl4-openssl-dev)
ftsb_require_pkg(sqlite sqlite3 libsqlite3-dev)
ftsb_require_pkg(openblas openblas libopenblas-dev)
