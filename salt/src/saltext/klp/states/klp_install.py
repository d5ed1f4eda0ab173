"""
Install klp itself: add its package repository and install the ``klp`` RPM
with zypper (SUSE) or dnf (RHEL family), so that the ``klp`` execution
module has a binary to run.

.. code-block:: yaml

    klp installed:
      klp_install.installed:
        - repo_url: https://repo.example.com/klp   # a tree made by dist/build.sh
        - version: 0.1.0-1                         # optional: hold this VERSION-RELEASE

The file root's ``livepatch/install.sls`` applies it from pillar ``klp``.
Idempotent: the repository file is written only when its content differs,
and the package manager runs only when klp is missing or at another version
(read back with ``rpm -q`` afterwards). ``test=True`` reports what it would do.
A separate module from the ``klp`` states, which need the binary installed.
Commands run as argv lists, never through a shell.
"""

import os

__virtualname__ = "klp_install"

_FAMILIES = {"suse": "zypper", "rhel": "dnf", "centos": "dnf", "fedora": "dnf"}


def __virtual__():
    return __virtualname__


def _in_root(root, path):
    return os.path.join(root, path.lstrip("/"))


def _package_manager(root):
    """zypper or dnf, from the ID and ID_LIKE words of the root's os-release."""
    for candidate in ("etc/os-release", "usr/lib/os-release"):
        try:
            with open(_in_root(root, candidate)) as handle:
                text = handle.read()
            break
        except OSError:
            continue
    else:
        return None
    words = []
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key in ("ID", "ID_LIKE"):
            words += value.strip().strip("\"'").split()
    for word in words:
        for family, manager in _FAMILIES.items():
            if family in word:
                return manager
    return None


def _repo(manager, root, repo_name, repo_url, gpgcheck):
    directory = "etc/zypp/repos.d" if manager == "zypper" else "etc/yum.repos.d"
    lines = ["[{}]".format(repo_name), "name=klp", "enabled=1", "baseurl={}".format(repo_url)]
    if manager == "zypper":
        lines += ["autorefresh=1", "type=rpm-md"]
    lines.append("gpgcheck={}".format(1 if gpgcheck else 0))
    return _in_root(root, "{}/{}.repo".format(directory, repo_name)), "\n".join(lines) + "\n"


def _installed_edition(root, name):
    argv = ["rpm", "--root", root, "-q", "--queryformat", "%{VERSION}-%{RELEASE}", name]
    result = __salt__["cmd.run_all"](argv, python_shell=False, ignore_retcode=True)
    return result["stdout"].strip() if result["retcode"] == 0 else None


def _install_argv(manager, root, name, version):
    if manager == "zypper":
        argv = ["zypper"] + (["--root", root] if root != "/" else [])
        return argv + ["--non-interactive", "install", "--oldpackage", name + ("=" + version if version else "")]
    argv = ["dnf", "-y"] + (["--installroot=" + root] if root != "/" else [])
    return argv + ["install", name + ("-" + version if version else "")]


def installed(name="klp", repo_url=None, version=None, root="/", gpgcheck=True, repo_name="klp",
              package_manager="auto"):
    """
    Ensure the klp package is installed from the repository at ``repo_url``.

    name
        The package (``klp``).
    repo_url
        The repository's base URL (``https://...``, or ``file:///dir``). Required.
    version
        A ``VERSION-RELEASE`` to install (also upgrading or downgrading to it);
        unset: any installed version is kept.
    root
        Install into the system mounted at this directory (image builds, tests).
    gpgcheck
        Check the packages' signatures (turn off only for an unsigned internal repository).
    repo_name
        The repository's id (its file name under ``etc/zypp/repos.d`` or ``etc/yum.repos.d``).
    package_manager
        ``zypper``, ``dnf``, or ``auto`` (from the root's os-release).
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    if not repo_url:
        ret.update(result=False, comment="klp_install.installed needs repo_url (the klp package repository)")
        return ret
    root = os.path.abspath(root)
    manager = _package_manager(root) if package_manager == "auto" else package_manager
    if manager not in ("zypper", "dnf"):
        ret.update(result=False, comment="cannot tell zypper (SUSE) from dnf (RHEL family) from the "
                   "os-release of {}: set package_manager".format(root))
        return ret
    version = str(version) if version not in (None, "") else None
    comments = []

    repo_path, content = _repo(manager, root, repo_name, repo_url, gpgcheck)
    try:
        with open(repo_path) as handle:
            current = handle.read()
    except OSError:
        current = None
    if current != content:
        ret["changes"]["repository"] = {"old": current, "new": content, "file": repo_path}
        if not __opts__["test"]:
            os.makedirs(os.path.dirname(repo_path), exist_ok=True)
            with open(repo_path, "w") as handle:
                handle.write(content)
            os.chmod(repo_path, 0o644)
        comments.append("repository {} {}".format(repo_path, "would be written" if __opts__["test"] else "written"))

    before = _installed_edition(root, name)
    if before is not None and (version is None or before == version):
        comments.append("{} {} is installed".format(name, before))
    else:
        argv = _install_argv(manager, root, name, version)
        if __opts__["test"]:
            ret["changes"]["package"] = {"old": before, "new": version or "latest", "command": argv}
            comments.append("would run: {}".format(" ".join(argv)))
        else:
            result = __salt__["cmd.run_all"](argv, python_shell=False, ignore_retcode=True)
            after = _installed_edition(root, name)
            ret["changes"]["package"] = {"old": before, "new": after, "command": argv}
            # Package managers may exit 0 without installing: rpm has the last word.
            if after is None or (version is not None and after != version) or after == before:
                ret["result"] = False
                comments.append("{} exited {} and {} is {}: {}".format(
                    argv[0], result["retcode"], name, after or "not installed",
                    (result["stderr"] or result["stdout"]).strip()[-2000:]))
            else:
                comments.append("{} {} installed with {}".format(name, after, manager))
    if __opts__["test"] and ret["changes"]:
        ret["result"] = None
    ret["comment"] = "; ".join(comments)
    return ret
