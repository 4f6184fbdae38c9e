#!/usr/bin/env bash
# make deb: Debian binary packages of skeeter for the build machine's architecture,
# made with dpkg's own tools (dpkg-shlibdeps, dpkg-gencontrol, dpkg-deb):
#   skeeter-libmosquitto1         libmosquitto.so.1 in /usr/lib/<multiarch>, in place
#                                 of Debian's libmosquitto1
#   skeeter-libmosquitto-dev      headers, the .so link and libmosquitto.pc, in place
#                                 of libmosquitto-dev
#   skeeter-libmosquitto1-dbgsym  the debug information, /usr/lib/debug/.build-id
# The package texts are in scripts/deb/.
#
# Usage: scripts/deb.sh [LIBRARY [OUTDIR]]
#   LIBRARY  default target/release/libmosquitto.so (run `make` first)
#   OUTDIR   default target/deb; the .deb files are written there
# DEB_ALSO_PROVIDE: more libmosquitto1 versions to provide (see below).
set -euo pipefail
cd "$(dirname "$0")/.."

library=$(realpath "${1:-target/release/libmosquitto.so}")
outdir=${2:-target/deb}
mkdir -p "$outdir"
outdir=$(realpath "$outdir")

crate=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
api=$(sed -n 's/^pub const LIBMOSQUITTO_\(MAJOR\|MINOR\|REVISION\): c_int = \([0-9]*\);/\2/p' \
    src/ffi/constants.rs | paste -sd. -)
# The API version first, so that `libmosquitto1 (>= 1.5)` and the like hold for ours.
version="$api+skeeter$crate"
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

# Debian builds mosquitto, mosquitto-clients and libmosquittopp1 with an exact
# `libmosquitto1 (= <Debian's version>)`; a package that provides only the API
# version would make apt remove them. So we also provide each libmosquitto1 version
# this machine's package lists know (ours has the same symbols, with their
# versions, as every 2.0 release). DEB_ALSO_PROVIDE overrides the list.
if [ -z "${DEB_ALSO_PROVIDE+set}" ]; then
    DEB_ALSO_PROVIDE=$( { dpkg-query -W -f='${Version}\n' libmosquitto1 2>/dev/null || true
        apt-cache show libmosquitto1 2>/dev/null | sed -n 's/^Version: //p'; } | sort -u | xargs)
fi
also=""
for v in $DEB_ALSO_PROVIDE; do
    # Only releases up to ours: a later one may have symbols we lack.
    upstream=${v#*:}
    upstream=${upstream%-*}
    if [ "$v" != "$api" ] && dpkg --compare-versions "$upstream" le "$api"; then
        also="$also, libmosquitto1 (= $v)"
    fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debian"
cp scripts/deb/control "$work/debian/control"
# dpkg-gencontrol reads the version from a changelog. Its date, and every file's
# time in the packages, is the last commit's, so the same tree and library give the
# same packages.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH
date=$(date -R -u -d "@$SOURCE_DATE_EPOCH")
maintainer=$(sed -n 's/^Maintainer: //p' scripts/deb/control)
cat > "$work/debian/changelog" <<CHANGELOG
skeeter ($version) unstable; urgency=medium

  * skeeter $crate, libmosquitto API $api.

 -- $maintainer  $date
CHANGELOG

# One staged install, then moved into the three package trees.
stage="$work/stage"
make -s install DESTDIR="$stage" PREFIX=/usr LIBDIR="/usr/lib/$multiarch" \
    DEBUGDIR=/usr/lib/debug LIBRARY="$library" > /dev/null
lib="usr/lib/$multiarch"
realname=$(basename "$(readlink -f "$stage/$lib/libmosquitto.so.1")")
build_id=$(readelf -n "$stage/$lib/$realname" | sed -n 's/^ *Build ID: *//p')

runtime="$work/debian/skeeter-libmosquitto1"
dev="$work/debian/skeeter-libmosquitto-dev"
dbgsym="$work/debian/skeeter-libmosquitto1-dbgsym"
mkdir -p "$runtime/$lib" "$dev/$lib" "$dev/usr" "$dbgsym/usr/lib"
mv "$stage/$lib/$realname" "$stage/$lib/libmosquitto.so.1" "$runtime/$lib/"
mv "$stage/$lib/libmosquitto.so" "$stage/$lib/pkgconfig" "$dev/$lib/"
mv "$stage/usr/include" "$dev/usr/"
mv "$stage/usr/lib/debug" "$dbgsym/usr/lib/"

mkdir -p "$runtime/usr/share/lintian/overrides"
cp scripts/deb/skeeter-libmosquitto1.lintian-overrides \
    "$runtime/usr/share/lintian/overrides/skeeter-libmosquitto1"
chmod 0644 "$runtime/usr/share/lintian/overrides/skeeter-libmosquitto1"
# Debian's shared libraries are not executable (policy 8.1).
chmod 0644 "$runtime/$lib/$realname"
# As dh_strip does: the debug package's doc directory is a link to the library's.
mkdir -p "$dbgsym/usr/share/doc"
ln -s skeeter-libmosquitto1 "$dbgsym/usr/share/doc/skeeter-libmosquitto1-dbgsym"

for package in skeeter-libmosquitto1 skeeter-libmosquitto-dev; do
    doc="$work/debian/$package/usr/share/doc/$package"
    mkdir -p "$doc"
    cp scripts/deb/copyright "$doc/copyright"
    gzip -9n < "$work/debian/changelog" > "$doc/changelog.gz"
    chmod 0644 "$doc"/*
done

# Packages built against ours depend on `libmosquitto1 (>= <node's first release>)`,
# which Debian's library and ours both satisfy. MOSQ_1.N came with mosquitto 1.N,
# except MOSQ_1.7, which came with 2.0.
mkdir -p "$runtime/DEBIAN"
{
    echo "libmosquitto.so.1 libmosquitto1 #MINVER#"
    echo "* Build-Depends-Package: libmosquitto-dev"
    readelf --dyn-syms -W "$runtime/$lib/$realname" |
        awk '$7 != "UND" && $8 ~ /@@MOSQ_1\./ { split($8, s, "@@"); v = substr(s[2], 6);
               if (v == "1.7") v = "2.0"; print " " s[1] "@" s[2] " " v }' | sort
} > "$runtime/DEBIAN/symbols"
echo "libmosquitto 1 libmosquitto1 (>= 2.0)" > "$runtime/DEBIAN/shlibs"
# ldconfig refreshes its cache after the library comes or goes.
echo "activate-noawait ldconfig" > "$runtime/DEBIAN/triggers"

(cd "$work" && dpkg-shlibdeps -Tdebian/skeeter-libmosquitto1.substvars "debian/skeeter-libmosquitto1/$lib/$realname")

for package in skeeter-libmosquitto1 skeeter-libmosquitto-dev skeeter-libmosquitto1-dbgsym; do
    tree="$work/debian/$package"
    mkdir -p "$tree/DEBIAN"
    extra=()
    if [ "$package" = skeeter-libmosquitto1-dbgsym ]; then
        extra=(-DBuild-Ids="$build_id" -DAuto-Built-Package=debug-symbols -DPriority=optional)
    fi
    (cd "$work" && dpkg-gencontrol -p"$package" -P"debian/$package" -T"debian/$package.substvars" \
        -v"$version" -Vskeeter:Api="$api" -Vskeeter:AlsoProvides="$also" "${extra[@]}")
    (cd "$tree" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
        xargs -0 md5sum > DEBIAN/md5sums)
    chmod 0644 "$tree"/DEBIAN/*
    find "$tree" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    dpkg-deb --root-owner-group -Zxz --build "$tree" "$outdir/" > /dev/null
done
ls "$outdir"/skeeter-libmosquitto*_"$version"_*.deb
