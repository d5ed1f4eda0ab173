#!/usr/bin/env bash
# Builds everything klp ships, all with the version in Cargo.toml:
#
#   dist/build.sh [OUTDIR]        (default target/dist)
#
#   OUTDIR/repo/        a createrepo_c repository: x86_64/klp-V-R.x86_64.rpm + repodata/
#                       (serve it over http(s), or use it as dir:/ file:// on a host)
#   OUTDIR/python/      saltext.klp wheel and sdist (salt/)
#   OUTDIR/ansible/     the klp.livepatch collection tarball (ansible/)
#
# Environment:
#   KLP_RPM_RELEASE=N   the RPM release (default 1): a newer build of one version
#   KLP_TOOLS_VENV=DIR  a Python venv with `build` and ansible-core (created and
#                       filled if they are missing; default OUTDIR/tools-venv)
#   CARGO_TARGET_DIR    cargo's target dir for the static build (default target/rpm)
#   KLP_BUILD_ONLY="rpm python ansible"   a subset
#   KLP_PROJECT_URL=https://...   the project's public home, known when it is
#                       published (the tree names none, so none is invented):
#                       the collection's repository and homepage, and its
#                       documentation unless KLP_DOCUMENTATION_URL is set;
#                       KLP_ISSUES_URL its issue tracker
# Needs cargo, rpmbuild, createrepo_c and python3 (with venv). Writes nothing
# outside OUTDIR and the target dir (rpm's database and temp files included).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$repo/target/dist}" && cd "${1:-$repo/target/dist}" && pwd)
release=${KLP_RPM_RELEASE:-1}
tools=${KLP_TOOLS_VENV:-$out/tools-venv}
target_dir=${CARGO_TARGET_DIR:-$repo/target/rpm}
only=" ${KLP_BUILD_ONLY:-rpm python ansible} "
die() { echo "dist/build.sh: $*" >&2; exit 1; }

version=$(sed -n '/^\[package\]/,/^\[/ s/^version = "\(.*\)"$/\1/p' "$repo/Cargo.toml")
[ -n "$version" ] || die "no version in Cargo.toml's [package]"
# The Salt extension and the collection carry the same version: fail loudly
# rather than ship three different ones.
salt_version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/salt/pyproject.toml")
galaxy_version=$(sed -n 's/^version: *//p' "$repo/ansible/ansible_collections/klp/livepatch/galaxy.yml")
[ "$salt_version" = "$version" ] || die "salt/pyproject.toml has version $salt_version, Cargo.toml $version"
[ "$galaxy_version" = "$version" ] || die "galaxy.yml has version $galaxy_version, Cargo.toml $version"

if [[ $only == *" rpm "* ]]; then
    command -v rpmbuild >/dev/null && command -v createrepo_c >/dev/null || die "needs rpmbuild and createrepo_c"
    top=$out/rpmbuild
    rm -rf "$top" && mkdir -p "$top/tmp"
    # _dbpath and _tmppath: Debian's rpmbuild would otherwise use ~/.rpmdb and /var/tmp.
    rpmbuild --quiet -bb "$repo/dist/klp.spec" \
        --define "_topdir $top" --define "_dbpath $top/rpmdb" --define "_tmppath $top/tmp" \
        --define "klp_source $repo" --define "klp_target_dir $target_dir" --define "klp_release $release" \
        --define "_binary_payload w6.xzdio"
    mkdir -p "$out/repo"
    find "$top/RPMS" -name "klp-$version-$release.*.rpm" -exec cp -p {} "$out/repo/" \;
    ls "$out/repo/klp-$version-$release".*.rpm >/dev/null 2>&1 || die "rpmbuild made no klp-$version-$release RPM"
    rm -rf "$top"
    # --update keeps the checksums of RPMs already in the repository.
    createrepo_c --quiet --update --no-database "$out/repo"
    echo "rpm: $(ls "$out/repo/"*.rpm | tr '\n' ' ')"
fi

if [[ $only == *" python "* || $only == *" ansible "* ]]; then
    [ -x "$tools/bin/python" ] || python3 -m venv "$tools"
    "$tools/bin/python" -c 'import build, setuptools' 2>/dev/null ||
        "$tools/bin/pip" install -q --disable-pip-version-check build "setuptools>=70.1"
    [ -x "$tools/bin/ansible-galaxy" ] || "$tools/bin/pip" install -q --disable-pip-version-check "ansible-core==2.19.14"
fi

if [[ $only == *" python "* ]]; then
    # From a copy: setuptools would leave build/ and *.egg-info in salt/.
    # Dereferenced (-L): the fleet summary is a link to the Ansible
    # collection's one copy, which the sdist and wheel must carry as a file.
    src=$(mktemp -d "$out/salt-src.XXXXXX")
    cp -rL "$repo/salt/." "$src/"
    rm -rf "$out/python"
    "$tools/bin/python" -m build --no-isolation --sdist --wheel --outdir "$out/python" "$src" >"$out/python-build.log" 2>&1 \
        || { cat "$out/python-build.log" >&2; rm -rf "$src"; die "python -m build failed"; }
    rm -rf "$src"
    echo "python: $(ls "$out/python" | tr '\n' ' ')"
fi

# A URL for galaxy.yml: https only, and nothing YAML or a shell would read
# as more than a URL.
check_url() {  # check_url NAME VALUE
    local url_re='^https://[A-Za-z0-9._~:/?#@!$&()*+,;=%-]+$'
    [[ $2 =~ $url_re ]] || die "$1 must be an https:// URL, not '$2'"
}

if [[ $only == *" ansible "* ]]; then
    rm -rf "$out/ansible"
    collection="$repo/ansible/ansible_collections/klp/livepatch"
    collection_src=
    if [ -n "${KLP_PROJECT_URL:-}" ]; then
        check_url KLP_PROJECT_URL "$KLP_PROJECT_URL"
        docs=${KLP_DOCUMENTATION_URL:-$KLP_PROJECT_URL}
        check_url KLP_DOCUMENTATION_URL "$docs"
        collection_src=$(mktemp -d "$out/collection-src.XXXXXX")
        cp -r "$collection/." "$collection_src/"
        {
            printf 'repository: "%s"\nhomepage: "%s"\ndocumentation: "%s"\n' "$KLP_PROJECT_URL" "$KLP_PROJECT_URL" "$docs"
            if [ -n "${KLP_ISSUES_URL:-}" ]; then
                check_url KLP_ISSUES_URL "$KLP_ISSUES_URL"
                printf 'issues: "%s"\n' "$KLP_ISSUES_URL"
            fi
        } >>"$collection_src/galaxy.yml"
        collection=$collection_src
    fi
    # ANSIBLE_HOME: ansible-galaxy would otherwise create ~/.ansible.
    ANSIBLE_HOME="$out/ansible-home" "$tools/bin/ansible-galaxy" collection build --output-path "$out/ansible" \
        "$collection" >/dev/null
    rm -rf "$out/ansible-home" ${collection_src:+"$collection_src"}
    echo "ansible: $(ls "$out/ansible" | tr '\n' ' ')"
fi
