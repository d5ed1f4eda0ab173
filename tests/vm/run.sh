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
#   KLP_VM_KERNELS="stable backports newest"   the kernels to test (see the
#   kernel table below; default: all three).
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
packages=(linux-headers-amd64 busybox-static cpio qemu-system-x86 gcc make libc6-dev python3 python3-venv mmdebstrap)
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

# The kernels, in one place: name, vCPUs, then the scenario groups the guest
# runs on it, in order (tests/vm/guest/init's scenario_<group>, checked by
# the same group in tests/vm/vmtest.py's SCENARIOS). A group for a new
# kernel feature is added there and named here.
#   stable     the release's own kernel, matching linux-headers-amd64 (6.1)
#   backports  the newest from <codename>-backports (6.12: has `replace`)
#   newest     the newest from Debian's trixie-backports (7.x: `stack_order`,
#              lazy preemption), modules built in a trixie chroot. Two vCPUs:
#              a kthread that never sleeps gets a CPU of its own (under TCG
#              both on one host thread: see vmtest.py's accel_args).
declare -A kernel_smp kernel_groups
while read -r name smp groups; do
    kernel_smp[$name]=$smp
    kernel_groups[$name]=$groups
done <<'KERNELS'
stable    1 base stack_order force
backports 1 base stack_order force
newest    2 base stack_order cond_resched force
KERNELS
read -r -a kernels <<<"${KLP_VM_KERNELS:-stable backports newest}"
for kernel in "${kernels[@]}"; do
    [ -n "${kernel_smp[$kernel]:-}" ] || die "unknown kernel '$kernel' in KLP_VM_KERNELS (${!kernel_smp[*]})"
done

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

# The mirror the host's apt already uses for its own release.
host_mirror() {
    local codename
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    apt-get indextargets --format '$(REPO_URI) $(RELEASE)' | awk -v c="$codename" '$2 == c { print $1; exit }'
}

# A private apt state under $1 for the sources $2...: the host's stay untouched.
private_apt() {
    local state=$1
    shift
    mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
    printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s\n' "$@" >"$state/sources.list"
    : >"$state/status"
    apt_private=(-o "Dir::Etc::SourceList=$state/sources.list" -o "Dir::Etc::SourceParts=$state/none"
        -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache" -o "Dir::State::status=$state/status")
    apt-get "${apt_private[@]}" update -qq >"$state/update.log" 2>&1 \
        || { cat "$state/update.log" >&2; die "apt-get update of $* failed"; }
}

# Sets abi and version from the private apt's linux-headers-amd64.
newest_headers() {
    local dep
    # Since 7.x the metapackage depends on linux-base-amd64 first.
    dep=$(apt-cache "${apt_private[@]}" show linux-headers-amd64 | sed -n 's/^Depends: //p' | head -1 \
        | grep -o 'linux-headers-[^ ,]* (= [^)]*)' | head -1)
    abi=$(sed -n 's/^linux-headers-\([^ ]*\) (= \([^)]*\)).*/\1/p' <<<"$dep")
    version=$(sed -n 's/^linux-headers-\([^ ]*\) (= \([^)]*\)).*/\2/p' <<<"$dep")
    [ -n "$abi" ] && [ -n "$version" ] || die "cannot read the headers ABI from '$dep'"
}

fetch_backports() {
    local codename mirror deps common kbuild
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    mirror=$(host_mirror)
    [ -n "$mirror" ] || die "no apt source for $codename to take the backports mirror from"
    private_apt "$work/apt-backports" "$mirror $codename-backports main"
    newest_headers
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

# The newest Debian kernel: <newest>-backports of the next release, its
# modules built in a chroot of that release (its gcc is the one the headers
# want), made by mmdebstrap from the same mirror. Both cached under $work.
newest_release=trixie
fetch_newest() {
    local mirror started
    mirror=$(host_mirror)
    [ -n "$mirror" ] || die "no apt source of the host to take the Debian mirror from"
    private_apt "$work/apt-$newest_release-backports" "$mirror $newest_release-backports main"
    newest_headers
    kdir=$work/kernel-$abi
    if [ ! -s "$kdir/boot/vmlinuz-$abi" ]; then
        rm -rf "$kdir" && mkdir -p "$kdir"
        # Since 7.x linux-image-<abi> only depends on linux-binary-<abi> (the
        # kernel) and linux-modules-<abi>. The guest needs no module of its
        # own: serial console, initramfs, devtmpfs and tmpfs are built in.
        local image_pkg="linux-image-$abi" depends
        depends=$(apt-cache "${apt_private[@]}" show "linux-image-$abi=$version" | sed -n 's/^Depends: //p')
        if grep -q "linux-binary-$abi " <<<"$depends"; then
            image_pkg="linux-binary-$abi"
        fi
        download "$kdir" "$image_pkg=$version"
        unpack_image "$kdir"
    fi
    chroot_dir=$work/chroot-$newest_release-$abi
    build_dir=/usr/src/linux-headers-$abi
    if [ "$(cat "$chroot_dir/.klp-headers" 2>/dev/null)" != "$version" ]; then
        rm -rf "$work"/chroot-"$newest_release"-*
        started=$SECONDS
        mmdebstrap --variant=apt --include="gcc-14,make,libc6-dev,linux-headers-$abi=$version" \
            "$newest_release" "$chroot_dir" "deb $mirror $newest_release main" \
            "deb $mirror $newest_release-backports main" >"$work/mmdebstrap.log" 2>&1 \
            || { tail -20 "$work/mmdebstrap.log" >&2; rm -rf "$chroot_dir"; die "mmdebstrap of $newest_release failed"; }
        echo "$version" >"$chroot_dir/.klp-headers"
        echo "vm: cold: made the $newest_release chroot for the modules in $((SECONDS - started))s ($(du -sh "$chroot_dir" | cut -f1), cached as $chroot_dir)"
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
    local kdir=$1 deb=
    for deb in "$kdir"/linux-image-*.deb "$kdir"/linux-binary-*.deb; do
        [ -f "$deb" ] && break
    done
    [ -f "$deb" ] || die "no kernel image package downloaded into $kdir"
    mkdir -p "$kdir/boot"
    # Up to 6.x in /boot; the 7.x linux-binary package has it in the modules dir.
    if dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$kdir" "./boot/vmlinuz-$abi" 2>/dev/null; then :
    elif dpkg-deb --fsys-tarfile "$deb" | tar -x -O "./usr/lib/modules/$abi/vmlinuz" >"$kdir/boot/vmlinuz-$abi"; then :
    else die "no vmlinuz for $abi in $(basename "$deb")"
    fi
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
    chroot_dir=
    "fetch_$kernel"
    echo "vm: $kernel kernel $abi ($version), booting $(basename "$image") on ${kernel_smp[$kernel]} vCPU(s)," \
        "scenario groups: ${kernel_groups[$kernel]}"

    phase "modules ($abi)"
    mdir=$work/modules-$abi
    # Built again only when the sources or the kernel's headers changed.
    sources_id=$( (cat tests/vm/modules/*; echo "$version") | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$mdir/.sources" 2>/dev/null)" = "$sources_id" ]; then
        echo "vm: modules for $abi cached (same sources and headers)"
    else
        rm -rf "$mdir" && mkdir -p "$mdir"
        cp tests/vm/modules/*.c tests/vm/modules/*.h tests/vm/modules/Kbuild "$mdir/"
        # No BTF for the test modules: it needs a pahole matching the kernel's.
        make_args=(make -s -C "$build_dir" M="$mdir" CONFIG_DEBUG_INFO_BTF_MODULES= modules)
        if [ -n "$chroot_dir" ]; then
            # In the chroot, with a /proc of its own (objtool reads it) that
            # vanishes with the private mount namespace.
            rm -rf "$chroot_dir/klp-modules" && cp -r "$mdir" "$chroot_dir/klp-modules"
            make_args=(unshare --fork --pid --mount --mount-proc="$chroot_dir/proc"
                chroot "$chroot_dir" make -s -C "$build_dir" M=/klp-modules CONFIG_DEBUG_INFO_BTF_MODULES= modules)
        fi
        "${make_args[@]}" >"$mdir/build.log" 2>&1 \
            || { cat "$mdir/build.log" >&2; die "building the test modules for $abi failed"; }
        if [ -n "$chroot_dir" ]; then
            cp "$chroot_dir"/klp-modules/*.ko "$mdir/" && rm -rf "$chroot_dir/klp-modules"
        fi
        cat "$mdir/build.log"
        echo "$sources_id" >"$mdir/.sources"
    fi

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
    mkdir -p "$root/etc" && echo "${kernel_groups[$kernel]}" >"$root/etc/klp-scenarios"
    (cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$work/initramfs-$abi.cpio"
    rm -rf "$root"

    phase "guest ($abi)"
    "$venv/bin/python" tests/vm/vmtest.py run \
        --kernel "$image" --initrd "$work/initramfs-$abi.cpio" --kernel-release "$abi" \
        --klp "$klp_bin" --schemas "$repo/schemas" --work "$work/run-$abi" --timeout 240 \
        --smp "${kernel_smp[$kernel]}" --scenarios "${kernel_groups[$kernel]}" \
        || failed+=("$abi")
done
phase end
if [ ${#failed[@]} -gt 0 ]; then
    echo "vm: FAILED on ${failed[*]}"
    exit 1
fi
echo "vm: passed on every kernel: ${kernels[*]}"
