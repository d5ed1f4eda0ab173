#!/usr/bin/env python3
"""The monitoring suite's tests: klp's outputs read by the real engines.

    engines.py --repo REPO --work DIR --klp BIN --fixture BIN [--keep]

Phases (each prints its time):
  roots       fixture roots of every scenario (examples/fixture) and one real
              rpm root (tests/pkg/mkroot.py) whose lifecycle data and kernel
              log are switched between the states ok, warning, critical, unknown
  promtool    `promtool check metrics` on the exposition of every root/state
  node        Debian's node_exporter (textfile collector on a temp dir that
              `klp assess --format prometheus --output` writes), scraped
              over loopback; the root changes, the values follow
  rules       `promtool test rules` of dist/prometheus/klp-alerts.yml, and a
              mutated copy of the rules must fail the same tests
  icinga      Icinga 2 runs the shipped CheckCommand (dist/icinga2/klp.conf)
              every second; the root changes through ok, warning, critical,
              unknown; the states are read back from Icinga's own log and its
              perfdata writer's files
  systemd     `systemd-analyze verify` of dist/systemd (in a private mount
              namespace where /usr/sbin/klp is the built binary), and a broken
              copy must fail
Daemons run in their own process group on free loopback ports, with config
and state under DIR, and are ended by that group's id.
"""

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

STATES = ("ok", "warning", "critical", "unknown")


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def check(self, cond, what, detail=None):
        if cond:
            self.passed += 1
        else:
            self.failed.append(what)
            print(f"FAIL {what}" + (f": {detail}" if detail is not None else ""), flush=True)
        return cond

    def equal(self, got, want, what):
        return self.check(got == want, what, f"got {got!r}, want {want!r}")


c = Checks()
phase_start = time.monotonic()


def phase(name):
    global phase_start
    now = time.monotonic()
    print(f"--- monitoring: {name} took {now - phase_start:.1f}s ({c.passed} passed, {len(c.failed)} failed so far)",
          flush=True)
    phase_start = now


def run(argv, env=None, timeout=120, **kw):
    """argv is a list: nothing reaches a shell."""
    return subprocess.run(argv, env=env, timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """A process in its own session and group, ended by the group's id."""

    def __init__(self, name, argv, log, env=None):
        self.name = name
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=env, start_new_session=True)
        self.pgid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def members(self):
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.pgid and fields[0] != "Z":
                pids.append(int(entry))
        return pids

    def stop(self):
        for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            if not self.members():
                break
            try:
                os.killpg(self.pgid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and self.members():
                self.proc.poll()
                time.sleep(0.2)
        self.proc.poll()
        c.equal(self.members(), [], f"{self.name}: every process of its group ended")


# --- roots ---------------------------------------------------------------

class RpmRoot:
    """A real rpm root (mkroot.py) switched between the four verdicts:
    ok (support a year ahead), warning (support ends in 20 days),
    critical (support ended yesterday), unknown (no kernel log)."""

    def __init__(self, repo, work):
        self.dir = os.path.join(work, "rpmroot")
        cache = os.path.join(work, "rpm-cache")
        # A new root each run (mkroot wants a fresh directory); the built RPMs stay cached.
        shutil.rmtree(self.dir, ignore_errors=True)
        out = run([sys.executable, os.path.join(repo, "tests/pkg/mkroot.py"), "--dir", self.dir, "--versions", "3",
                   "--installed", "3", "--rpm-cache", cache], timeout=600)
        if out.returncode != 0:
            raise SystemExit(f"mkroot failed: {out.stdout}{out.stderr}")
        info = json.loads(out.stdout)
        # For tests/monitoring/bench.py --env-json.
        with open(os.path.join(work, "rpmroot.json"), "w") as f:
            f.write(out.stdout)
        self.root = info["root"]
        self.patch = "livepatch_3_150600_4_1"
        self.package = f"{info['package']}-{info['installed']}.x86_64"
        self.env = dict(os.environ, **info["env"])
        os.makedirs(os.path.join(self.root, "var/lib/lifecycle/data"), exist_ok=True)
        os.makedirs(os.path.join(self.root, "dev"), exist_ok=True)
        replace(os.path.join(self.root, "proc/uptime"), "1000.00 1500.00\n")

    def set_state(self, state):
        days = {"ok": 365, "warning": 20, "critical": -1, "unknown": 365}[state]
        self.support_end = datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=days)
        replace(os.path.join(self.root, "var/lib/lifecycle/data/klp-monitoring-test.lifecycle"),
                f"kernel-livepatch-*, *, {self.support_end.isoformat()}\n")
        kmsg = os.path.join(self.root, "dev/kmsg")
        if state == "unknown":
            if os.path.exists(kmsg):
                os.unlink(kmsg)
        else:
            replace(kmsg, "6,0,0,-;Linux version 6.4.0-150600.23.22-default\n")

    def support_end_timestamp(self):
        day_after = self.support_end + datetime.timedelta(days=1)
        return float(datetime.datetime(day_after.year, day_after.month, day_after.day,
                                       tzinfo=datetime.timezone.utc).timestamp())


def replace(path, text):
    """Atomic, as the daemons may read the root at any moment."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def fixture_roots(fixture, work):
    usage = run([fixture])
    names = re.search(r"scenarios: (.*)", usage.stderr).group(1).split()
    roots = {}
    for name in names:
        path = os.path.join(work, "fixtures", name)
        shutil.rmtree(path, ignore_errors=True)
        out = run([fixture, name, path])
        c.equal(out.returncode, 0, f"fixture {name} built")
        roots[name] = path
    return roots


# --- phases --------------------------------------------------------------

def assess(klp, root, fmt, env, *extra, output=None):
    argv = [klp, "--root", root, "assess", "--format", fmt, *extra]
    if output:
        argv += ["--output", output]
    return run(argv, env=env)


def check_metrics(klp, roots, rpm):
    cases = [(f"fixture {n}", r, rpm.env) for n, r in roots.items()]
    for state in STATES:
        rpm.set_state(state)
        cases.append((f"rpm root {state}", rpm.root, rpm.env))
        cases.append((f"rpm root {state} with --cve", rpm.root, rpm.env, "--cve", "CVE-2024-50001", "--cve",
                      "CVE-2099-0001"))
    cases.append(("missing root", os.path.join(rpm.dir, "no-such-root"), rpm.env))
    for name, root, env, *extra in cases:
        out = assess(klp, root, "prometheus", env, *extra)
        c.check(out.stdout.startswith("# HELP klp_assess_success"), f"promtool: {name}: an exposition", out.stdout)
        lint = run(["promtool", "check", "metrics"], input=out.stdout)
        c.check(lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(),
                f"promtool check metrics: {name}", lint.stdout + lint.stderr)
    print(f"monitoring: promtool check metrics passed on {len(cases)} expositions")


def parse_scrape(text):
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            samples[series] = float(value)
    return samples


def node_exporter(klp, work, rpm, roots):
    textdir = os.path.join(work, "textfile")
    shutil.rmtree(textdir, ignore_errors=True)
    os.makedirs(textdir)
    prom = os.path.join(textdir, "klp.prom")
    rpm.set_state("ok")
    out = assess(klp, rpm.root, "prometheus", rpm.env, output=prom)
    c.equal((out.returncode, out.stdout), (0, ""), "node: klp writes the textfile, nothing on stdout")
    daemon = url = None
    for _attempt in range(3):
        port = free_port()
        url = f"http://127.0.0.1:{port}/metrics"
        daemon = Daemon("node_exporter", ["prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{port}",
                                          "--collector.disable-defaults", "--collector.textfile",
                                          f"--collector.textfile.directory={textdir}"],
                        os.path.join(work, "node_exporter.log"))
        if wait_http(url, daemon):
            break
        daemon.stop()
        daemon = None
    if not c.check(daemon is not None, "node: node_exporter listens on a loopback port"):
        return
    try:
        def scrape():
            with urllib.request.urlopen(url, timeout=10) as resp:
                return resp.read().decode()

        seen = {}
        for state in ("ok", "critical", "warning"):
            rpm.set_state(state)
            out = assess(klp, rpm.root, "prometheus", rpm.env, output=prom)
            c.equal(out.returncode, STATES.index(state), f"node: {state}: exit status")
            text = scrape()
            s = parse_scrape(text)
            seen[state] = text
            c.equal(s.get("node_textfile_scrape_error"), 0.0, f"node: {state}: no node_textfile_scrape_error")
            c.equal(s.get("klp_assess_success"), 1.0, f"node: {state}: klp_assess_success 1")
            for v in STATES:
                c.equal(s.get(f'klp_verdict{{verdict="{v}"}}'), float(v == state), f"node: {state}: klp_verdict {v}")
            c.equal(s.get("klp_patches_loaded"), 1.0, f"node: {state}: one patch loaded")
            info = f'klp_patch_info{{package="{rpm.package}",patch="{rpm.patch}",version="3"}}'
            c.equal(s.get(info), 1.0, f"node: {state}: patch info with package and version")
            c.equal(s.get(f'klp_patch_support_end_timestamp_seconds{{patch="{rpm.patch}"}}'),
                    rpm.support_end_timestamp(), f"node: {state}: support end follows the lifecycle data")
            expired = s.get('klp_findings{code="support_expired",severity="critical"}')
            expiring = s.get('klp_findings{code="support_expiring",severity="warning"}')
            c.equal((expired, expiring), {"ok": (None, None), "critical": (1.0, None), "warning": (None, 1.0)}[state],
                    f"node: {state}: the support findings")
            c.equal(s.get("klp_reboot_required"), float(state == "critical"), f"node: {state}: reboot required")
            c.equal(s.get('klp_reboot_reason{reason="support_expired"}'), 1.0 if state == "critical" else None,
                    f"node: {state}: reboot reason")
        # A transition stuck for 600 s (fixture: no rpm database, package facts unknown).
        assess(klp, roots["stuck"], "prometheus", rpm.env, output=prom)
        s = parse_scrape(scrape())
        c.equal((s.get("klp_transition_in_progress"), s.get("klp_transition_age_seconds"),
                 s.get("klp_blocking_threads")), (1.0, 600.0, 2.0), "node: stuck: in progress, 600 s, 2 blockers")
        c.equal(s.get('klp_verdict{verdict="critical"}'), 1.0, "node: stuck: critical")
        # klp cannot assess: the file says so.
        out = assess(klp, os.path.join(work, "no-such-root"), "prometheus", rpm.env, output=prom)
        s = parse_scrape(scrape())
        c.equal((out.returncode, s.get("klp_assess_success"), s.get('klp_assess_error{code="root_not_found"}'),
                 s.get("node_textfile_scrape_error")), (3, 0.0, 1.0, 0.0), "node: failure: success 0 with its code")
        c.equal([n for n in os.listdir(textdir)], ["klp.prom"], "node: no temporary file left in the textfile dir")
        example = os.path.join(work, "example-scrape.txt")
        with open(example, "w") as f:
            f.write("\n".join(l for l in seen["critical"].splitlines() if "klp" in l) + "\n")
        print(f"monitoring: example scrape (critical) in {example}")
    finally:
        daemon.stop()


def wait_http(url, daemon, limit=15):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if not daemon.alive():
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def rules(repo, work):
    test = os.path.join(repo, "tests/monitoring/alerts.test.yml")
    out = run(["promtool", "test", "rules", test])
    c.check(out.returncode == 0 and "SUCCESS" in out.stdout, "rules: promtool test rules passes", out.stdout + out.stderr)
    # The same tests against rules whose metric names are wrong must fail:
    # they assert alerts that fire, not only silence.
    mutated = os.path.join(work, "mutated-rules")
    shutil.rmtree(mutated, ignore_errors=True)
    os.makedirs(os.path.join(mutated, "tests/monitoring"))
    os.makedirs(os.path.join(mutated, "dist/prometheus"))
    with open(os.path.join(repo, "dist/prometheus/klp-alerts.yml")) as f:
        text = f.read()
    with open(os.path.join(mutated, "dist/prometheus/klp-alerts.yml"), "w") as f:
        f.write(text.replace("klp_threshold_", "klp_thresholds_").replace("== 1", "== 2"))
    shutil.copy(test, os.path.join(mutated, "tests/monitoring/alerts.test.yml"))
    out = run(["promtool", "test", "rules", os.path.join(mutated, "tests/monitoring/alerts.test.yml")])
    c.check(out.returncode != 0, "rules: the tests fail against mutated rules", out.stdout)
    shutil.rmtree(mutated)


def icinga(repo, work, klp, rpm):
    base = os.path.join(work, "icinga")
    shutil.rmtree(base, ignore_errors=True)
    dirs = {k: os.path.join(base, k) for k in ("etc", "lib", "log", "cache", "spool", "run", "perfdata")}
    for d in dirs.values():
        os.makedirs(d)
    log = os.path.join(dirs["log"], "icinga2.log")
    perf = os.path.join(dirs["perfdata"], "service-perfdata")
    rpm.set_state("ok")
    config = f'''
include <itl>
include "{repo}/dist/icinga2/klp.conf"
object FileLogger "klp-test-log" {{ path = "{log}"; severity = "notice" }}
object CheckerComponent "checker" {{ }}
object PerfdataWriter "perfdata" {{
  service_perfdata_path = "{perf}"
  service_temp_path = "{perf}.tmp"
  host_perfdata_path = "{dirs['perfdata']}/host-perfdata"
  host_temp_path = "{dirs['perfdata']}/host-perfdata.tmp"
  rotation_interval = 1s
  service_format_template = "SERVICESTATE::$service.state$\\tSERVICEPERFDATA::$service.perfdata$\\tSERVICEOUTPUT::$service.output$"
}}
object Host "klp-test" {{ check_command = "dummy"; vars.dummy_state = 0; check_interval = 1h }}
object Service "livepatch" {{
  host_name = "klp-test"
  check_command = "klp"
  check_interval = 1s
  retry_interval = 1s
  max_check_attempts = 1
  vars.klp_binary = "{klp}"
  vars.klp_root = "{rpm.root}"
}}
'''
    conf = os.path.join(dirs["etc"], "icinga2.conf")
    with open(conf, "w") as f:
        f.write(config)
    defines = []
    for const, key in (("ConfigDir", "etc"), ("DataDir", "lib"), ("LogDir", "log"), ("CacheDir", "cache"),
                       ("SpoolDir", "spool"), ("InitRunDir", "run")):
        defines += ["-D", f"{const}={dirs[key]}"]
    # Root, as klp must be to read every thread; the environment (rpm's
    # HOME, zypper's lock and log under the rpm root) is the plugin's too.
    defines += ["-D", "RunAsUser=root", "-D", "RunAsGroup=root"]
    valid = run(["icinga2", "daemon", "-C", "-c", conf, *defines], env=rpm.env)
    if not c.check(valid.returncode == 0, "icinga: the config with the shipped CheckCommand validates",
                   valid.stdout[-2000:]):
        return
    daemon = Daemon("icinga2", ["icinga2", "daemon", "-c", conf, *defines], os.path.join(base, "stdout.log"),
                    env=rpm.env)
    reached = []
    try:
        offset = 0
        for state in STATES:
            rpm.set_state(state)
            want = state.upper()
            pattern = re.compile(r"State Change: Checkable 'klp-test!livepatch' (?:hard|soft) state change from "
                                 rf"(\w+) to {want} detected")
            deadline = time.monotonic() + 60
            found = None
            while time.monotonic() < deadline and daemon.alive():
                text = read(log)
                found = pattern.search(text, offset)
                if found:
                    offset = found.end()
                    break
                time.sleep(0.3)
            if c.check(found is not None, f"icinga: the core reports {want} for the {state} root", read(log)[-1500:]):
                reached.append(f"{found.group(1)} -> {want}")
        # Perfdata as the core parsed it, one line per check result.
        time.sleep(2)
        text = ""
        for name in sorted(os.listdir(dirs["perfdata"])):
            if name.startswith("service-perfdata"):
                text += read(os.path.join(dirs["perfdata"], name))
        # The output holds klp's further lines: a record runs to the next one.
        record = re.compile(r"SERVICESTATE::(\w+)\tSERVICEPERFDATA::([^\t\n]*)\tSERVICEOUTPUT::(.*?)(?=\nSERVICESTATE::|\Z)",
                            re.S)
        examples = {}
        for m in record.finditer(text):
            examples.setdefault(m.group(1), {"SERVICESTATE": m.group(1), "SERVICEPERFDATA": m.group(2),
                                             "SERVICEOUTPUT": m.group(3).rstrip("\n")})
        for state in STATES:
            got = examples.get(state.upper(), {})
            c.check(got.get("SERVICEOUTPUT", "").startswith(f"KLP {state.upper()} - "),
                    f"icinga: perfdata writer: {state.upper()} with klp's first line", got)
            c.check("transition_age=" in got.get("SERVICEPERFDATA", "") and "patches_loaded=1" in got["SERVICEPERFDATA"]
                    if got else False, f"icinga: {state.upper()}: the core parsed klp's perfdata", got)
        with open(os.path.join(work, "example-icinga.txt"), "w") as f:
            for state in STATES:
                f.write(json.dumps(examples.get(state.upper())) + "\n")
        print("monitoring: icinga state changes read from its log: " + "; ".join(reached))
    finally:
        daemon.stop()


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def systemd(repo, work, klp):
    units = [os.path.join(repo, "dist/systemd", n) for n in ("klp-textfile@.service", "klp-textfile@.timer")]
    man = os.path.join(work, "man")
    os.makedirs(os.path.join(man, "man8"), exist_ok=True)
    shutil.copy(os.path.join(repo, "man/klp.8"), os.path.join(man, "man8/klp.8"))

    def verify(paths):
        # A private mount namespace: /usr/sbin is a tmpfs holding only the
        # built klp, so ExecStart's binary exists; the host is untouched.
        script = 'mount -t tmpfs tmpfs /usr/sbin && cp "$1" /usr/sbin/klp && shift && exec systemd-analyze verify "$@"'
        return run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", klp, *paths],
                   env=dict(os.environ, MANPATH=man, SYSTEMD_LOG_LEVEL="notice"))

    out = verify(units)
    c.check(out.returncode == 0 and not out.stderr.strip(), "systemd: systemd-analyze verify passes on dist/systemd",
            out.stdout + out.stderr)
    broken = os.path.join(work, "broken")
    shutil.rmtree(broken, ignore_errors=True)
    os.makedirs(broken)
    with open(units[0]) as f:
        text = f.read()
    with open(os.path.join(broken, "klp-textfile@.service"), "w") as f:
        f.write(text.replace("/usr/sbin/klp", "/usr/sbin/klp-missing"))
    out = verify([os.path.join(broken, "klp-textfile@.service")])
    c.check(out.returncode != 0, "systemd: verify fails on a unit whose binary is missing", out.stderr)
    shutil.rmtree(broken)
    shutil.rmtree(man)
    c.equal(os.path.exists("/usr/sbin/klp"), False, "systemd: no /usr/sbin/klp on the host")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--klp", required=True)
    parser.add_argument("--fixture", required=True)
    args = parser.parse_args()
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    # Roots readable by every user; klp runs as root here anyway.
    roots = fixture_roots(args.fixture, work)
    rpm = RpmRoot(args.repo, work)
    phase("roots")
    check_metrics(args.klp, roots, rpm)
    phase("promtool check metrics")
    node_exporter(args.klp, work, rpm, roots)
    phase("node_exporter")
    rules(args.repo, work)
    phase("promtool test rules")
    icinga(args.repo, work, args.klp, rpm)
    phase("icinga2")
    systemd(args.repo, work, args.klp)
    phase("systemd-analyze verify")
    shutil.rmtree(os.path.join(work, "fixtures"), ignore_errors=True)
    print(f"monitoring: {c.passed} passed, {len(c.failed)} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
