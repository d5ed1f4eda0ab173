#!/usr/bin/env bash
# vm suite: the real klp binary on a real Debian kernel under qemu.
#
# From a fresh machine (root): installs the packages it needs, fetches the
# kernel image that matches the installed Debian headers, builds the live
# patch test modules (tests/vm/modules) against those headers, builds a
# static klp, packs a busybox initramfs, then tests/vm/vmtest.py boots it,
# collects the guest's JSON lines and asserts on them.
# Everything it writes lives under $KLP_WORK/vm; qemu is ended by its pid.
#
#   KLP_VM_KERNELS="stable backports"   the kernels to test (default both):
#     stable     the release's own kernel, matching linux-headers-amd64 (6.1)
#     backports  the newest from <codename>-backports (6.12: has `replace`)
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

# Kernels to test: the distribution's own (required) and, if it can be had,
# the newer one from backports (it has the `replace` file, 6.11+).
read -r -a kernels <<<"${KLP_VM_KERNELS:-stable backports}"

# Sets abi, version, build_dir, image for kernel $1 under $work/kernel-<abi>.
fetch_stable() {
    # The ABI of the installed headers the modules are built against.
    local dep
    dep=$(dpkg-query -W -f '${Depends}' linux-headers-amd64)
    abi=$(sed -n 's/^linux-headers-\([^ ]*\) (= \([^)]*\)).*/\1/p' <<<"$dep")
    version=$(sed -n 's/^linux-headers-\([^ ]*\) (= \([^)]*\)).*/\2/p' <<<"$dep")
    [ -n "$abi" ] && [ -n "$version" ] || die "cannot read the headers ABI from linux-headers-amd64's Depends: '$dep'"
    build_dir=/lib/modules/$abi/build
    [ -d "$build_dir" ] || die "$build_dir missing: linux-headers-$abi not installed?"
    kdir=$work/kernel-$abi
    if [ ! -s "$kdir/boot/vmlinuz-$abi" ]; then
        rm -rf "$kdir" && mkdir -p "$kdir"
        # The image package only as a file: installing it would pull udev
        # and upgrade systemd on the host. Same version as the headers.
        download "$kdir" "linux-image-$abi=$version"
        unpack_image "$kdir"
    fi
    pick_image "$kdir"
}

fetch_backports() {
    # A private apt state under $work: the host's sources stay untouched.
    # The mirror is the one the host's apt already uses for this release.
    local bpo=$work/apt-backports codename mirror
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' | awk -v c="$codename" '$2 == c { print $1; exit }')
    [ -n "$mirror" ] || die "no apt source for $codename to take the backports mirror from"
    mkdir -p "$bpo/lists/partial" "$bpo/cache/archives/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $codename-backports main" >"$bpo/sources.list"
    : >"$bpo/status"
    apt_private=(-o "Dir::Etc::SourceList=$bpo/sources.list" -o "Dir::Etc::SourceParts=$bpo/none"
        -o "Dir::State::Lists=$bpo/lists" -o "Dir::Cache=$bpo/cache" -o "Dir::State::status=$bpo/status")
    apt-get "${apt_private[@]}" update -qq >"$bpo/update.log" 2>&1 \
        || { cat "$bpo/update.log" >&2; die "apt-get update of $codename-backports failed"; }
    local dep deps common kbuild
    dep=$(apt-cache "${apt_private[@]}" show linux-headers-amd64 | sed -n 's/^Depends: //p' | head -1)
    abi=$(sed -n 's/^linux-headers-\([^ ]*\) (= \([^)]*\)).*/\1/p' <<<"$dep")
    version=$(sed -n 's/^linux-headers-\([^ ]*\) (= \([^)]*\)).*/\2/p' <<<"$dep")
    [ -n "$abi" ] && [ -n "$version" ] || die "cannot read the backports headers ABI from '$dep'"
    kdir=$work/kernel-$abi
    build_dir=$kdir/root/usr/src/linux-headers-$abi
    if [ ! -s "$kdir/boot/vmlinuz-$abi" ] || [ ! -f "$build_dir/Makefile" ]; then
        rm -rf "$kdir" && mkdir -p "$kdir/root"
        deps=$(apt-cache "${apt_private[@]}" show "linux-headers-$abi=$version" | sed -n 's/^Depends: //p' | head -1)
        common=$(grep -o 'linux-headers-[^ ,]*-common' <<<"$deps" | head -1)
        kbuild=$(grep -o 'linux-kbuild-[^ ,]*' <<<"$deps" | head -1)
        [ -n "$common" ] && [ -n "$kbuild" ] || die "cannot find the common headers and kbuild in '$deps'"
        download "$kdir" "linux-image-$abi=$version" "linux-headers-$abi=$version" \
            "$common=$version" "$kbuild=$version"
        for deb in "$kdir"/linux-headers-*.deb "$kdir"/linux-kbuild-*.deb; do
            dpkg-deb -x "$deb" "$kdir/root" || die "cannot unpack $deb"
        done
        # The arch Makefile includes the common one by absolute path.
        sed -i "s|^include /usr/src/|include $kdir/root/usr/src/|" "$build_dir/Makefile"
        unpack_image "$kdir"
    fi
    pick_image "$kdir"
}

download() {
    local dir=$1
    shift
    (cd "$dir" && apt-get "${apt_private[@]}" download "$@" >"$dir/download.log" 2>&1) \
        || { cat "$dir/download.log" >&2; die "apt-get download $* failed"; }
}

unpack_image() {
    local kdir=$1
    dpkg-deb --fsys-tarfile "$kdir"/linux-image-*.deb | tar -x -C "$kdir" "./boot/vmlinuz-$abi" \
        || die "no boot/vmlinuz-$abi in the linux-image package"
    # The uncompressed ELF boots through PVH in half the time of bzImage;
    # the stdlib can only undo XZ (6.1), so others (ZSTD, 6.12) boot as is.
    if python3 tests/vm/vmtest.py extract-vmlinux "$kdir/boot/vmlinuz-$abi" "$kdir/vmlinux.tmp"; then
        mv "$kdir/vmlinux.tmp" "$kdir/vmlinux"
    fi
    rm -f "$kdir"/*.deb
}

pick_image() {
    image=$1/boot/vmlinuz-$abi
    [ -s "$1/vmlinux" ] && image=$1/vmlinux
    return 0
}

phase klp
# crt-static needs --target, or proc-macro crates cannot be built. Own
# target dir: the flags differ from the normal build's, which stays intact.
RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --locked --quiet \
    --target x86_64-unknown-linux-gnu --target-dir "$work/target" \
    || die "cargo build of the static klp failed"
klp_bin=$work/target/x86_64-unknown-linux-gnu/release/klp
gcc -static -O2 -Wall -Wextra -Werror -o "$work/vmstep" tests/vm/guest/vmstep.c \
    || die "building vmstep failed"
gcc -static -O2 -pthread -Wall -Wextra -Werror -o "$work/churn" tests/vm/guest/churn.c \
    || die "building churn failed"

phase venv
venv=$work/venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import jsonschema' 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed"
    PIP_CACHE_DIR="$work/pip-cache" "$venv/bin/pip" install -q --disable-pip-version-check jsonschema==4.26.0 \
        || die "pip install jsonschema failed"
fi

failed=()
for kernel in "${kernels[@]}"; do
    phase "kernel ($kernel)"
    apt_private=()
    case $kernel in
        stable) fetch_stable ;;
        backports) fetch_backports ;;
        *) die "unknown kernel '$kernel' in KLP_VM_KERNELS (stable, backports)" ;;
    esac
    echo "vm: $kernel kernel $abi ($version), booting $(basename "$image")"

    phase "modules ($abi)"
    mdir=$work/modules-$abi
    rm -rf "$mdir" && mkdir -p "$mdir"
    cp tests/vm/modules/*.c tests/vm/modules/*.h tests/vm/modules/Kbuild "$mdir/"
    # No BTF for the test modules: it needs a pahole matching the kernel's.
    make -s -C "$build_dir" M="$mdir" CONFIG_DEBUG_INFO_BTF_MODULES= modules >"$mdir/build.log" 2>&1 \
        || { cat "$mdir/build.log" >&2; die "building the test modules for $abi failed"; }
    cat "$mdir/build.log"

    phase "initramfs ($abi)"
    root=$work/initramfs-root
    rm -rf "$root" && mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/klp}
    cp /bin/busybox "$root/bin/busybox"
    ln -s busybox "$root/bin/sh"
    cp "$klp_bin" "$root/bin/klp"
    cp "$work/vmstep" "$root/bin/vmstep"
    cp "$work/churn" "$root/bin/churn"
    install -m 755 tests/vm/guest/init "$root/init"
    install -m 755 tests/vm/guest/waitfor "$root/bin/waitfor"
    for ko in "$mdir"/*.ko; do
        strip --strip-debug -o "$root/lib/klp/$(basename "$ko")" "$ko"
    done
    # Without /dev/console in the initramfs, init's output is lost.
    mknod -m 600 "$root/dev/console" c 5 1
    (cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$work/initramfs-$abi.cpio"
    rm -rf "$root"

    phase "guest ($abi)"
    "$venv/bin/python" tests/vm/vmtest.py run \
        --kernel "$image" --initrd "$work/initramfs-$abi.cpio" --kernel-release "$abi" \
        --klp "$klp_bin" --schemas "$repo/schemas" --work "$work/run-$abi" --timeout 150 \
        || failed+=("$abi")
done
phase end
if [ ${#failed[@]} -gt 0 ]; then
    echo "vm: FAILED on ${failed[*]}"
    exit 1
fi
echo "vm: passed on every kernel: ${kernels[*]}"
