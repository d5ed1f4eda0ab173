"""One copy of the modules, two ways to ship them: the pip-installed Salt
extension and the file root (synced from the master, or module_dirs)."""

import configparser
from pathlib import Path

import pytest

from conftest import EXT_SITE, FILE_ROOT, PACKAGE_DIR, REPO, Minion


KINDS = [("modules", "klp.py"), ("states", "klp.py"), ("grains", "klp.py"), ("beacons", "klp.py"),
         ("runners", "klp.py"), ("utils", "klp_fleet.py")]


@pytest.mark.parametrize("kind, name", KINDS)
def test_file_root_links_to_the_package_modules(kind, name):
    link = FILE_ROOT / "_{}".format(kind) / name
    assert link.is_symlink(), "the file root must not hold a second copy"
    assert link.resolve() == (PACKAGE_DIR / kind / name).resolve()


def test_the_fleet_summary_is_the_ansible_collections_code():
    # One implementation for both engines' fleet reports.
    shared = PACKAGE_DIR / "utils" / "klp_fleet.py"
    assert shared.is_symlink()
    assert shared.resolve() == (REPO / "ansible" / "ansible_collections" / "klp" / "livepatch" / "plugins"
                                / "plugin_utils" / "klp_fleet.py").resolve()


def test_installed_extension_registers_the_salt_loader_entry_point():
    (dist_info,) = Path(EXT_SITE).glob("saltext_klp-*.dist-info")
    entry_points = configparser.ConfigParser()
    entry_points.read(dist_info / "entry_points.txt")
    assert entry_points["salt.loader"]["klp"] == "saltext.klp"
    for kind, name in KINDS:
        installed = Path(EXT_SITE) / "saltext" / "klp" / kind / name
        assert installed.read_bytes() == (PACKAGE_DIR / kind / name).read_bytes()


def test_extension_provides_the_modules_and_nothing_else_does(tmp_path, make_fixture):
    minion = Minion(tmp_path, "extension", klp_root=make_fixture("ready"))
    without = minion.call("klp.status", extension=False)
    assert without.rc != 0
    assert "'klp.status' is not available" in without.output
    with_extension = minion.call("klp.status")
    assert with_extension.rc == 0, with_extension
    assert with_extension.data["state"] == "ready"
    applied = minion.call("state.apply", "livepatch", extension=True)
    assert applied.rc == 0, applied
    assert applied.states()["livepatch transition finished"]["result"] is True


def test_file_root_needs_a_sync_and_works_after_it(tmp_path, make_fixture):
    root = make_fixture("ready")
    unsynced = Minion(tmp_path / "unsynced", "file_root_nosync", klp_root=root)
    result = unsynced.call("klp.status")
    assert result.rc != 0
    assert "'klp.status' is not available" in result.output
    # state.apply can sync the modules itself when asked to.
    applied = unsynced.call("state.apply", "livepatch", "sync_mods=all")
    assert applied.rc == 0, applied
    assert applied.states()["livepatch transition finished"]["result"] is True

    synced = Minion(tmp_path / "synced", "file_root", klp_root=root)
    result = synced.call("klp.status")
    assert result.rc == 0, result
    assert result.data["state"] == "ready"


def test_module_dirs_load_the_file_root_in_place(tmp_path, make_fixture):
    minion = Minion(tmp_path, "module_dirs", klp_root=make_fixture("stuck"))
    result = minion.call("klp.check")
    assert result.rc == 1, result
    assert result.data["state"] == "in_progress"
    applied = minion.call("state.apply", "livepatch", "test=True")
    assert applied.rc == 0, applied
    assert applied.states()["livepatch transition finished"]["result"] is None
