# Install rules, man pages and the Debian package (CPack). Included by CMakeLists.txt.
#   cmake --install build [--prefix /usr]     the files below
#   scripts/package.sh                        vwall_<version>_<arch>.deb (cpack -G DEB)
#
# Layout (GNUInstallDirs; for prefix /usr):
#   /usr/bin/vwall, /usr/bin/vwallctl
#   /usr/share/vwall/{shaders,layouts,assets/console}    found by vwall relative to itself
#   /usr/share/man/man1/vwall.1.gz, vwallctl.1.gz, man5/vwall.cfg.5.gz
#   /usr/lib/systemd/system/vwall@.service, /usr/lib/sysusers.d/vwall.conf,
#   /usr/lib/tmpfiles.d/vwall.conf
#   /etc/vwall/example.cfg (a conffile), /var/lib/vwall/
#   /usr/share/doc/vwall/{copyright,changelog.gz,README.md,*.md}

set(VWALL_DATADIR ${CMAKE_INSTALL_DATADIR}/vwall)

install(TARGETS vwall vwallctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/shaders/ DESTINATION ${VWALL_DATADIR}/shaders
  FILES_MATCHING PATTERN "*.vert" PATTERN "*.frag" PATTERN "*.glsl")
install(FILES ${CMAKE_SOURCE_DIR}/layouts/demo.cfg ${CMAKE_SOURCE_DIR}/layouts/township.cfg
  ${CMAKE_SOURCE_DIR}/layouts/district.cfg DESTINATION ${VWALL_DATADIR}/layouts)
# The web console's files, once the console is there.
if(EXISTS ${CMAKE_SOURCE_DIR}/assets/console)
  install(DIRECTORY ${CMAKE_SOURCE_DIR}/assets/console/ DESTINATION ${VWALL_DATADIR}/assets/console)
endif()

# systemd: the unit, the user, the folders. Relative to the prefix: /usr/lib/systemd/system
# is where Debian wants units (lintian), and where systemd looks under /usr.
install(FILES ${CMAKE_CURRENT_LIST_DIR}/vwall@.service DESTINATION lib/systemd/system)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/vwall.sysusers DESTINATION lib/sysusers.d
  RENAME vwall.conf)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/vwall.tmpfiles DESTINATION lib/tmpfiles.d
  RENAME vwall.conf)

# /etc/vwall/example.cfg: the district layout with its control socket where the service
# puts it (/run/vwall/example.sock) and open to the wallops group.
file(READ ${CMAKE_SOURCE_DIR}/layouts/district.cfg VWALL_EXAMPLE)
foreach(pair "unix:/run/vwall/district.sock|unix:/run/vwall/example.sock"
             "socket_group = \"video\"|socket_group = \"wallops\"")
  string(REPLACE "|" ";" pair "${pair}")
  list(GET pair 0 from)
  list(GET pair 1 to)
  string(FIND "${VWALL_EXAMPLE}" "${from}" at)
  if(at LESS 0)
    message(FATAL_ERROR "packaging/install.cmake: layouts/district.cfg no longer has '${from}': "
      "update the example wall file's edits")
  endif()
  string(REPLACE "${from}" "${to}" VWALL_EXAMPLE "${VWALL_EXAMPLE}")
endforeach()
file(WRITE ${CMAKE_BINARY_DIR}/packaging/example.cfg
"# Example wall file installed by the vwall package (a copy of the district layout).
# For a wall named NAME: copy it to /etc/vwall/NAME.cfg, put your cameras and panels in,
# set control.listen to unix:/run/vwall/NAME.sock, check it with
#   vwall -c /etc/vwall/NAME.cfg --check
# and start it with  systemctl enable --now vwall@NAME  (see vwall.cfg(5), vwall(1)).
${VWALL_EXAMPLE}")
# For prefix /usr these are /etc and /var (GNUInstallDirs); for another prefix they stay
# under it (PREFIX/etc, PREFIX/var), so that `cmake --install --prefix DIR` writes only there.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(VWALL_ETCDIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/vwall)
  set(VWALL_VARDIR ${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/lib/vwall)
else()
  set(VWALL_ETCDIR ${CMAKE_INSTALL_SYSCONFDIR}/vwall)
  set(VWALL_VARDIR ${CMAKE_INSTALL_LOCALSTATEDIR}/lib/vwall)
endif()
install(FILES ${CMAKE_BINARY_DIR}/packaging/example.cfg DESTINATION ${VWALL_ETCDIR})
install(DIRECTORY DESTINATION ${VWALL_VARDIR})

# Documentation: the formats and operations, the Debian copyright and changelog.
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/docs/layout-format.md
  ${CMAKE_SOURCE_DIR}/docs/control-protocol.md ${CMAKE_SOURCE_DIR}/docs/operations.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${CMAKE_CURRENT_LIST_DIR}/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Man pages from scdoc sources (docs/man/*.scd), gzipped as Debian wants them.
set(VWALL_MAN "AUTO" CACHE STRING "Build the man pages with scdoc: AUTO, ON (required), OFF")
find_program(SCDOC scdoc)
find_program(GZIP gzip)
set(VWALL_MAN_PAGES vwall.1 vwallctl.1 vwall.cfg.5)
if(VWALL_MAN STREQUAL "ON" AND NOT SCDOC)
  message(FATAL_ERROR "VWALL_MAN=ON: scdoc not found (Debian package scdoc)")
endif()
if(NOT VWALL_MAN STREQUAL "OFF" AND SCDOC AND GZIP)
  set(outputs "")
  foreach(page ${VWALL_MAN_PAGES})
    string(REGEX MATCH "[0-9]$" section ${page})
    set(src ${CMAKE_SOURCE_DIR}/docs/man/${page}.scd)
    set(out ${CMAKE_BINARY_DIR}/man/${page})
    add_custom_command(OUTPUT ${out} ${out}.gz
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
      COMMAND ${SCDOC} < ${src} > ${out}
      COMMAND ${GZIP} -9nc ${out} > ${out}.gz
      DEPENDS ${src} VERBATIM)
    list(APPEND outputs ${out} ${out}.gz)
    install(FILES ${out}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  endforeach()
  add_custom_target(vwall_man ALL DEPENDS ${outputs})
  message(STATUS "vwall: man pages: built with ${SCDOC}")
else()
  message(STATUS "vwall: man pages: not built (no scdoc)")
endif()

# ---- the Debian package ------------------------------------------------------------------
# Version: the project version, or after it what git describe adds (0.1.0+gitc757462).
set(VWALL_DEB_VERSION "${VWALL_VERSION_STRING}")
string(REGEX REPLACE "^([0-9][^-]*)-([0-9]+)-g([0-9a-f]+)" "\\1+\\2.g\\3" VWALL_DEB_VERSION
  "${VWALL_DEB_VERSION}")
string(REGEX REPLACE "^([0-9][^-+]*)-g([0-9a-f]+)" "\\1+git\\2" VWALL_DEB_VERSION
  "${VWALL_DEB_VERSION}")
string(REPLACE "-dirty" ".dirty" VWALL_DEB_VERSION "${VWALL_DEB_VERSION}")
string(REPLACE "-" "." VWALL_DEB_VERSION "${VWALL_DEB_VERSION}")

# changelog.gz (gzip -9n: no name, no time, as lintian wants) and conffiles.
string(TIMESTAMP DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(DEB_VERSION ${VWALL_DEB_VERSION})
configure_file(${CMAKE_CURRENT_LIST_DIR}/debian/changelog ${CMAKE_BINARY_DIR}/packaging/changelog.Debian @ONLY)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/packaging/changelog.gz
  COMMAND ${GZIP} -9nc ${CMAKE_BINARY_DIR}/packaging/changelog.Debian
          > ${CMAKE_BINARY_DIR}/packaging/changelog.gz
  DEPENDS ${CMAKE_BINARY_DIR}/packaging/changelog.Debian VERBATIM)
add_custom_target(vwall_changelog ALL DEPENDS ${CMAKE_BINARY_DIR}/packaging/changelog.gz)
install(FILES ${CMAKE_BINARY_DIR}/packaging/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(WRITE ${CMAKE_BINARY_DIR}/packaging/conffiles "${CMAKE_INSTALL_FULL_SYSCONFDIR}/vwall/example.cfg\n")
foreach(script postinst prerm postrm)
  file(COPY ${CMAKE_CURRENT_LIST_DIR}/debian/${script} DESTINATION ${CMAKE_BINARY_DIR}/packaging
    FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                     WORLD_READ WORLD_EXECUTE)
endforeach()

set(CPACK_PACKAGE_NAME vwall)
set(CPACK_PACKAGE_VERSION ${VWALL_DEB_VERSION})
set(CPACK_PACKAGE_VENDOR "the vwall authors")
set(CPACK_PACKAGE_CONTACT "vwall maintainers <maintainers@users.noreply.r-seed-737cbcff.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "video-wall controller for command-center LCD walls")
set(CPACK_PACKAGE_DESCRIPTION
"vwall decodes many camera feeds (RTSP from IP cameras and NVRs, or anything
FFmpeg opens) and tiles them across a wall of LCD panels according to a
declarative layout file, with bezel compensation and spans across panels.
Operators and alarm systems switch scenes over a JSON control socket (client:
vwallctl); every tile says whether its camera is live, stalled or offline.
.
The package runs a wall as a systemd service (vwall@NAME for
/etc/vwall/NAME.cfg) with a watchdog, as the user vwall.")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION video)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "fonts-wqy-microhei, libgl1-mesa-dri, libegl-mesa0")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_BINARY_DIR}/packaging/conffiles ${CMAKE_BINARY_DIR}/packaging/postinst
  ${CMAKE_BINARY_DIR}/packaging/prerm ${CMAKE_BINARY_DIR}/packaging/postrm)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
include(CPack)
