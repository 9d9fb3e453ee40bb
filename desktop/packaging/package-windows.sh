#!/bin/sh
# Builds the Windows app from Linux (or from a Windows runner with MinGW):
# bin/windows/Taiwa.exe with the icon and version information from
# desktop/FyneApp.toml (the fyne tool), Authenticode-signed when a certificate is
# configured, checked, and zipped as bin/Taiwa-<version>-windows-amd64.zip.
#
# Environment:
#   GO                    the Go command (default go)
#   FYNE_TOOL             the fyne tool's module@version
#   WINDOWS_CC            the MinGW compiler (default x86_64-w64-mingw32-gcc)
#   WINDOWS_CERT          a PKCS#12 (.pfx) code-signing certificate; unset: unsigned
#   WINDOWS_CERT_PASS_FILE  a file holding its password (never on the command line)
#   WINDOWS_TIMESTAMP     an RFC 3161 timestamp server (needs the internet), optional
set -eu

GO=${GO:-go}
FYNE_TOOL=${FYNE_TOOL:?FYNE_TOOL must name the fyne tool}
CC=${WINDOWS_CC:-x86_64-w64-mingw32-gcc}
toml() { sed -n "s/^$1 = \"\{0,1\}\([^\"]*\)\"\{0,1\}$/\1/p" desktop/FyneApp.toml; }
NAME=$(toml Name)
VERSION=$(toml Version)
BUILD=$(toml Build)
OUT=bin/windows
ZIP=bin/$NAME-$VERSION-windows-amd64.zip

command -v "$CC" >/dev/null || { echo "$CC is missing: apt-get install gcc-mingw-w64-x86-64" >&2; exit 1; }
rm -rf "$OUT" && mkdir -p "$OUT"

# The fyne tool counts the build up in FyneApp.toml after packaging; the
# committed file says which build this is, so it is put back.
cp desktop/FyneApp.toml "$OUT/FyneApp.toml.orig"
trap 'cp "$OUT/FyneApp.toml.orig" desktop/FyneApp.toml 2>/dev/null; rm -f "$OUT/FyneApp.toml.orig"' EXIT

# The fyne tool (built for this machine, not for Windows) builds the app
# (cgo, MinGW), writes a .syso with the icon, the manifest and the version
# information, and builds again with it.
GOBIN="$PWD/bin/tools" $GO install "$FYNE_TOOL"
GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=$CC \
	bin/tools/fyne package --os windows --release --src desktop \
	--name "$NAME" --app-id "$(toml ID)" --app-version "$VERSION" --app-build "$BUILD" --icon Icon.png
mv -f "desktop/$NAME.exe" "$OUT/$NAME.exe"

if [ -n "${WINDOWS_CERT:-}" ]; then
	command -v osslsigncode >/dev/null || { echo "osslsigncode is missing: apt-get install osslsigncode" >&2; exit 1; }
	set -- -pkcs12 "$WINDOWS_CERT" -h sha256 -n "$NAME" -i "$(toml Website)"
	[ -n "${WINDOWS_CERT_PASS_FILE:-}" ] && set -- "$@" -readpass "$WINDOWS_CERT_PASS_FILE"
	[ -n "${WINDOWS_TIMESTAMP:-}" ] && set -- "$@" -ts "$WINDOWS_TIMESTAMP"
	osslsigncode sign "$@" -in "$OUT/$NAME.exe" -out "$OUT/$NAME.signed.exe"
	mv -f "$OUT/$NAME.signed.exe" "$OUT/$NAME.exe"
	# A self-signed certificate is not in the system's trust store: check
	# the signature against the certificate itself.
	osslsigncode verify -CAfile "${WINDOWS_CERT_CHAIN:-/etc/ssl/certs/ca-certificates.crt}" -in "$OUT/$NAME.exe" ||
		[ -n "${WINDOWS_CERT_CHAIN:-}" ] || echo "signature made; not trusted by this machine's CAs (set WINDOWS_CERT_CHAIN to check a private chain)"
fi

# Icon, version and (if signed) signature are where Windows looks.
$GO run ./desktop/cmd/taiwa-pecheck --version "$VERSION.$BUILD" ${WINDOWS_CERT:+--signed} "$OUT/$NAME.exe"

cp desktop/internal/ui/fonts/OFL.txt "$OUT/NotoSansJP-OFL.txt"
rm -f "$ZIP"
(cd "$OUT" && zip -q -9 "../$(basename "$ZIP")" "$NAME.exe" NotoSansJP-OFL.txt)
ls -l "$ZIP"
