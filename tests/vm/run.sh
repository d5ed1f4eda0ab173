#!/usr/bin/env bash
# vm suite: the real klp binary on a real Debian kernel under qemu.
#
# From a fresh machine (root): installs the packages it needs, fetches the
# kernel image that matches the installed Debian headers, builds the live
# patch test modules (tests/vm/modules) against those headers, builds a
# static klp, packs a busybox initramfs, then tests/vm/vmtest.py boots it,
# collects the guest's JSON lines and asserts on them.
# Everything it writes lives under $KLP_WORK/vm; qemu is ended by its pid.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
KLP_WORK=${KLP_WORK:-$repo/tests/.work}
work=$KLP_WORK/vm
mkdir -p "$work"

phase_start=$SECONDS
phase() {
    local now=$SECONDS
    [ -n "${phase_name:-}" ] && echo "vm: phase $phase_name took $((now - phase_start))s"
    phase_name=$1
    phase_start=$now
    echo "vm: phase $phase_name"
}
die() { echo "vm: error: $*" >&2; exit 1; }

phase install
packages=(linux-headers-amd64 busybox-static cpio qemu-system-x86 gcc make libc6-dev python3 python3-venv)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    # Other suites may hold the dpkg lock for a while: wait rather than fail.
    apt-get -o DPkg::Lock::Timeout=600 update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends "${missing[@]}" >"$work/apt.log" 2>&1 \
        || { tail -20 "$work/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
fi

phase kernel
# The ABI of the headers the modules are built against, e.g. 6.1.0-56-amd64.
headers_dep=$(dpkg-query -W -f '${Depends}' linux-headers-amd64)
abi=$(sed -n 's/^linux-headers-\([^ ]*\) (= \([^)]*\)).*/\1/p' <<<"$headers_dep")
version=$(sed -n 's/^linux-headers-\([^ ]*\) (= \([^)]*\)).*/\2/p' <<<"$headers_dep")
[ -n "$abi" ] && [ -n "$version" ] || die "cannot read the headers ABI from linux-headers-amd64's Depends: '$headers_dep'"
[ -d "/lib/modules/$abi/build" ] || die "/lib/modules/$abi/build missing: linux-headers-$abi not installed?"
kdir=$work/kernel-$abi
if [ ! -s "$kdir/vmlinux" ]; then
    rm -rf "$kdir" && mkdir -p "$kdir"
    # The image package only as a file: installing it would pull udev and
    # upgrade systemd on the host. Same version as the headers, or no match.
    (cd "$kdir" && apt-get download "linux-image-$abi=$version" >"$kdir/download.log" 2>&1) \
        || { cat "$kdir/download.log" >&2; die "apt-get download linux-image-$abi=$version failed"; }
    dpkg-deb --fsys-tarfile "$kdir"/linux-image-*.deb | tar -x -C "$kdir" "./boot/vmlinuz-$abi" \
        || die "no boot/vmlinuz-$abi in the linux-image package"
    # The uncompressed ELF boots through PVH in half the time of bzImage.
    python3 tests/vm/vmtest.py extract-vmlinux "$kdir/boot/vmlinuz-$abi" "$kdir/vmlinux.tmp"
    mv "$kdir/vmlinux.tmp" "$kdir/vmlinux"
    rm -f "$kdir"/linux-image-*.deb
fi

phase modules
mdir=$work/modules-$abi
rm -rf "$mdir" && mkdir -p "$mdir"
cp tests/vm/modules/*.c tests/vm/modules/*.h tests/vm/modules/Kbuild "$mdir/"
make -s -C "/lib/modules/$abi/build" M="$mdir" modules >"$mdir/build.log" 2>&1 \
    || { cat "$mdir/build.log" >&2; die "building the test modules failed"; }
grep -v 'Skipping BTF generation' "$mdir/build.log" || true

phase klp
# crt-static needs --target, or proc-macro crates cannot be built. Own
# target dir: the flags differ from the normal build's, which stays intact.
RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --locked --quiet \
    --target x86_64-unknown-linux-gnu --target-dir "$work/target" \
    || die "cargo build of the static klp failed"
klp_bin=$work/target/x86_64-unknown-linux-gnu/release/klp
file_out=$(file -b "$klp_bin" 2>/dev/null || true)
case $file_out in *dynamically*) die "klp is not static: $file_out" ;; esac

phase initramfs
root=$work/initramfs-root
rm -rf "$root" && mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/klp}
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$klp_bin" "$root/bin/klp"
gcc -static -O2 -Wall -Wextra -Werror -o "$root/bin/vmstep" tests/vm/guest/vmstep.c \
    || die "building vmstep failed"
install -m 755 tests/vm/guest/init "$root/init"
install -m 755 tests/vm/guest/waitfor "$root/bin/waitfor"
for ko in "$mdir"/*.ko; do
    strip --strip-debug -o "$root/lib/klp/$(basename "$ko")" "$ko"
done
# Without /dev/console in the initramfs, init's output is lost.
mknod -m 600 "$root/dev/console" c 5 1
(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$work/initramfs.cpio"
rm -rf "$root"

phase venv
venv=$work/venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import jsonschema' 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed"
    "$venv/bin/pip" install -q --disable-pip-version-check jsonschema==4.26.0 \
        || die "pip install jsonschema failed"
fi

phase guest
status=0
"$venv/bin/python" tests/vm/vmtest.py run \
    --kernel "$kdir/vmlinux" --initrd "$work/initramfs.cpio" --kernel-release "$abi" \
    --klp "$klp_bin" --schemas "$repo/schemas" --work "$work/run-$abi" --timeout 240 || status=$?
phase end
exit $status
