#!/usr/bin/env bash
# Builds the Debian package: DIR/vwall_<version>_<arch>.deb (default DIR: build-deb/).
#   scripts/package.sh [DIR] [extra cmake args...]
# A Release build for prefix /usr with sd_notify (libsystemd) and the man pages (scdoc)
# required, then `cpack -G DEB`: Depends computed by dpkg-shlibdeps from the libraries
# vwall links, binaries stripped, /etc/vwall/example.cfg a conffile, maintainer scripts
# from packaging/debian/. Prints the package's path on its last line.
# The version is `git describe`'s (0.1.0+gitc757462), or the project version outside git.
# Needs: scripts/install-deps.sh's packages (dpkg-dev, scdoc, libsystemd-dev among them).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-deb}
shift || true
# Debian's hardening flags (fortify, stack protector, relro, bindnow), as a package
# built by debhelper gets them.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cflags="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DCMAKE_C_FLAGS="$cflags" -DCMAKE_EXE_LINKER_FLAGS="$ldflags" \
  -DVWALL_WERROR=ON -DVWALL_SYSTEMD=ON -DVWALL_MAN=ON -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON \
  "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)" --target vwall vwallctl vwall_man vwall_changelog
rm -f "$dir"/vwall_*.deb
(cd "$dir" && cpack -G DEB >/dev/null)
deb=$(ls "$dir"/vwall_*.deb)
echo "$deb"
