"""vwall installed like a product.

  package_test.py install BUILD_DIR PREFIX
      `cmake --install` of the build into a scratch DESTDIR: every file in its place, and the
      installed vwall, run from outside the source tree, draws with its installed shaders
      (found relative to itself) and checks the installed example.
  package_test.py deb PACKAGE_DIR PREFIX
      scripts/package.sh into PACKAGE_DIR: vwall_<version>_<arch>.deb, its contents,
      Depends from dpkg-shlibdeps, the conffile, lintian without errors; then (root only,
      exit 77 otherwise) dpkg -i on this machine: the vwall user in video, render and wallops,
      the installed vwall's --version, --check and --screenshot of /etc/vwall/example.cfg from
      outside the source tree, `systemd-analyze verify` of vwall@example.service, the man
      pages; then dpkg --purge, leaving the machine as it was, also when a check fails.
"""
import glob
import grp
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vwtest  # noqa: E402
from vwtest import Image, check, finish  # noqa: E402

PART, DIR, PREFIX = sys.argv[1:4]
SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TMP = tempfile.mkdtemp(prefix="vwall-package-")
SLATE = (0x1A, 0x1F, 0x2B)  # a tile with no picture

SHADERS = ["copy.frag", "nv12.frag", "solid.frag", "text.frag", "tile.vert", "yuv_planar.frag"]
LAYOUTS = ["demo.cfg", "district.cfg", "township.cfg"]


def run(args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 600)
    return subprocess.run(args, **kw)


def expected_files(prefix, etc, var):
    """Every path the install must hold, for a prefix and its etc and var folders."""
    files = [f"{prefix}/bin/vwall", f"{prefix}/bin/vwallctl",
             f"{prefix}/lib/systemd/system/vwall@.service",
             f"{prefix}/lib/sysusers.d/vwall.conf", f"{prefix}/lib/tmpfiles.d/vwall.conf",
             f"{prefix}/share/man/man1/vwall.1.gz", f"{prefix}/share/man/man1/vwallctl.1.gz",
             f"{prefix}/share/man/man5/vwall.cfg.5.gz",
             f"{prefix}/share/doc/vwall/copyright", f"{prefix}/share/doc/vwall/changelog.gz",
             f"{prefix}/share/doc/vwall/operations.md",
             f"{etc}/vwall/example.cfg", f"{var}/lib/vwall/"]
    files += [f"{prefix}/share/vwall/shaders/{s}" for s in SHADERS]
    files += [f"{prefix}/share/vwall/layouts/{name}" for name in LAYOUTS]
    if os.path.isdir(os.path.join(SRC, "assets", "console")):
        for path in glob.glob(os.path.join(SRC, "assets", "console", "**", "*"), recursive=True):
            if os.path.isfile(path):
                rel = os.path.relpath(path, os.path.join(SRC, "assets", "console"))
                files.append(f"{prefix}/share/vwall/assets/console/{rel}")
    return files


def use_installed(vwall, example, data_dir, what):
    """--check of the example and a --screenshot of it, from a folder outside the source
    tree, with no hint where the data is: the log must say it drew with data_dir's shaders."""
    work = tempfile.mkdtemp(prefix="vwall-outside-", dir=TMP)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VWALL_")}
    env["SDL_VIDEODRIVER"] = "offscreen"
    p = run([vwall, "-c", example, "--check"], cwd=work, env=env)
    check(p.returncode == 0 and ": ok (" in p.stdout,
          f"{what}: --check of {example}: exit {p.returncode}, {p.stdout!r} {p.stderr!r}")
    env["VWALL_LOG"] = "debug"
    p = run([vwall, "-c", example, "--no-connect", "--screenshot", "wall.png"], cwd=work, env=env)
    shot = os.path.join(work, "wall.png")
    check(p.returncode == 0 and os.path.exists(shot),
          f"{what}: --screenshot from {work}: exit {p.returncode}\n{p.stderr[-2000:]}")
    check(f"data from {data_dir} (shaders: {data_dir}/shaders)" in p.stderr,
          f"{what}: the installed vwall drew with {data_dir}/shaders; log:\n{p.stderr[-2000:]}")
    if os.path.exists(shot):
        img = Image(shot)
        # The example is the district wall: 6x3 panels of 1920x1080, bezels removed.
        check((img.w, img.h) == (11520, 3240), f"{what}: screenshot 11520x3240, got {img.w}x{img.h}")
        px = img.px(img.w // 12, img.h // 6 + img.h // 12)  # the first panel, below its title
        check(all(abs(a - b) <= 3 for a, b in zip(px, SLATE)),
              f"{what}: a tile of the preview shows the slate {SLATE}, got {px}")


def test_install():
    dest = os.path.join(TMP, "dest")
    env = dict(os.environ, DESTDIR=dest)
    p = run(["cmake", "--install", DIR], env=env)
    check(p.returncode == 0, f"cmake --install: {p.returncode}\n{p.stdout}\n{p.stderr}")
    prefix = dest + PREFIX
    if PREFIX == "/usr":
        etc, var = dest + "/etc", dest + "/var"
    else:
        etc, var = prefix + "/etc", prefix + "/var"
    for f in expected_files(prefix, etc, var):
        check(os.path.isdir(f) if f.endswith("/") else os.path.isfile(f), f"installed: {f}")
    # The installed vwall finds ../share/vwall relative to itself, wherever the prefix is.
    use_installed(f"{prefix}/bin/vwall", f"{etc}/vwall/example.cfg",
                  os.path.realpath(f"{prefix}/share/vwall"), "cmake --install")
    shutil.rmtree(dest, ignore_errors=True)


def dpkg(*args):
    """dpkg, waiting while another apt/dpkg holds the lock."""
    for _ in range(60):
        p = run(["dpkg", *args])
        if "lock" not in p.stderr or p.returncode == 0:
            return p
        time.sleep(5)
    return p


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_exists(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def test_deb():
    p = run([os.path.join(SRC, "scripts", "package.sh"), DIR], timeout=900)
    check(p.returncode == 0, f"scripts/package.sh: exit {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    if p.returncode != 0:
        return
    deb = p.stdout.strip().split("\n")[-1]
    version = run(["dpkg-deb", "-f", deb, "Version"]).stdout.strip()
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    check(os.path.basename(deb) == f"vwall_{version}_{arch}.deb",
          f"package named vwall_<version>_<arch>.deb: {deb}")
    with open(os.path.join(DIR, "gen", "vwall_version.h")) as f:
        built = f.read().split('VWALL_VERSION "')[1].split('"')[0]
    check(version.split("+")[0] == built.split("-")[0] and version[0].isdigit(),
          f"the package version {version} is vwall's ({built}) as Debian spells it")

    listing = run(["dpkg-deb", "-c", deb]).stdout
    paths = {line.split()[-1].lstrip(".") for line in listing.split("\n") if line.strip()}
    for f in expected_files("/usr", "/etc", "/var"):
        check(f in paths or f.rstrip("/") in paths or f + "/" in paths, f"in the package: {f}")
    depends = run(["dpkg-deb", "-f", deb, "Depends"]).stdout
    for lib in ("libsdl2-2.0-0", "libavcodec", "libconfig", "libcjson", "libsystemd0", "libc6"):
        check(lib in depends, f"Depends (dpkg-shlibdeps) names {lib}: {depends.strip()}")
    control = tempfile.mkdtemp(prefix="control-", dir=TMP)
    run(["dpkg-deb", "-e", deb, control])
    with open(os.path.join(control, "conffiles")) as f:
        check(f.read().split() == ["/etc/vwall/example.cfg"], "conffiles: /etc/vwall/example.cfg")
    for script in ("postinst", "prerm", "postrm"):
        check(os.access(os.path.join(control, script), os.X_OK), f"maintainer script {script}")

    p = run(["lintian", "--no-tag-display-limit", deb])
    errors = [line for line in p.stdout.split("\n") if line.startswith("E:")]
    check(not errors and "E:" not in p.stderr, f"lintian: no errors, got {errors} {p.stderr[-500:]}")
    print(f"lintian: {p.stdout.strip() or 'no tags'}")

    if os.geteuid() != 0:
        print(f"package_deb: {vwtest.passed} passed, {vwtest.failed} failed; not root, so "
              "not installed with dpkg -i: skipped")
        sys.exit(1 if vwtest.failed else 77)
    if run(["dpkg-query", "-W", "-f=${Status}", "vwall"]).stdout.startswith("install ok"):
        check(False, "vwall is installed on this machine already: the test would replace and "
                     "purge it; remove it first (dpkg --purge vwall)")
        return
    had_user, had_wallops, had_vwall_group = user_exists("vwall"), group_exists("wallops"), group_exists("vwall")
    saved_state = None
    if os.path.exists("/var/lib/vwall"):  # another vwall's state: put back afterwards
        saved_state = os.path.join(TMP, "var-lib-vwall")
        shutil.copytree("/var/lib/vwall", saved_state, symlinks=True)
    try:
        p = dpkg("-i", deb)
        check(p.returncode == 0, f"dpkg -i: exit {p.returncode}\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
        if p.returncode != 0:
            return
        check_installed()
    finally:
        p = dpkg("--purge", "vwall")
        check(p.returncode == 0, f"dpkg --purge vwall: {p.returncode} {p.stderr[-1000:]}")
        for gone in ("/usr/bin/vwall", "/usr/share/vwall", "/etc/vwall",
                     "/usr/lib/systemd/system/vwall@.service"):
            check(not os.path.exists(gone), f"purged: {gone} is gone")
        # The user and groups stay on purge (Debian's way); the test removes what it made.
        if not had_user and user_exists("vwall"):
            run(["userdel", "vwall"])
        if not had_vwall_group and group_exists("vwall"):
            run(["groupdel", "vwall"])
        if not had_wallops and group_exists("wallops"):
            run(["groupdel", "wallops"])
        if saved_state:
            shutil.rmtree("/var/lib/vwall", ignore_errors=True)
            shutil.copytree(saved_state, "/var/lib/vwall", symlinks=True)
        check(user_exists("vwall") == had_user and group_exists("wallops") == had_wallops,
              "the machine's users and groups are as before")


def run_as_service_user():
    """The installed example run the way vwall@example runs it, as far as can be without
    systemd: as the user vwall with its groups, from /var/lib/vwall, told of its runtime
    directory and a NOTIFY_SOCKET. Its control socket must be /run/vwall/example.sock, of
    group wallops, mode 0660: a member of wallops gets in, anybody else does not."""
    import socket as so
    ndir = tempfile.mkdtemp(prefix="notify-", dir=TMP)
    os.chmod(TMP, 0o755)
    os.chmod(ndir, 0o755)
    npath = os.path.join(ndir, "notify.sock")
    nsock = so.socket(so.AF_UNIX, so.SOCK_DGRAM)
    nsock.bind(npath)
    os.chmod(npath, 0o777)
    env = {"PATH": "/usr/bin:/bin", "HOME": "/var/lib/vwall", "RUNTIME_DIRECTORY": "/run/vwall",
           "NOTIFY_SOCKET": npath, "WATCHDOG_USEC": "10000000", "SDL_VIDEODRIVER": "offscreen"}
    log = open(os.path.join(TMP, "service-user.log"), "w")
    p = subprocess.Popen(["setpriv", "--reuid=vwall", "--regid=vwall", "--init-groups",
                          "/usr/bin/vwall", "--config", "/etc/vwall/example.cfg", "--output",
                          "offscreen", "--no-connect"],
                         cwd="/var/lib/vwall", env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        nsock.settimeout(90)
        ready = ""
        try:
            while "READY=1" not in ready:
                ready = nsock.recv(4096).decode()
        except so.timeout:
            pass
        with open(os.path.join(TMP, "service-user.log")) as f:
            text = f.read()
        check("READY=1" in ready and "STATUS=scene overview, 0/18 cameras live" in ready,
              f"as the user vwall: READY=1 with its STATUS, got {ready!r}\n{text[-2000:]}")
        sock = "/run/vwall/example.sock"
        if not os.path.exists(sock):
            check(False, f"control socket {sock} exists")
            return
        st = os.stat(sock)
        check(grp.getgrgid(st.st_gid).gr_name == "wallops" and st.st_mode & 0o777 == 0o660,
              f"{sock}: group wallops, mode 0660, got {grp.getgrgid(st.st_gid).gr_name} "
              f"{oct(st.st_mode & 0o777)}")
        wallops = grp.getgrnam("wallops").gr_gid
        ctl = ["/usr/bin/vwallctl", "-s", f"unix:{sock}", "ping"]
        member = run(["setpriv", "--reuid=65534", "--regid=65534", f"--groups={wallops}", *ctl])
        check(member.returncode == 0, f"a member of wallops reaches the wall: {member.stderr}")
        other = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *ctl])
        check(other.returncode == 2 and "Permission denied" in other.stderr,
              f"anybody else does not: exit {other.returncode} {other.stderr}")
        reload = run(["/usr/bin/vwallctl", "--socket", f"unix:{sock}", "reload"])
        check(reload.returncode == 0, f"ExecReload's vwallctl reload: {reload.stdout} {reload.stderr}")
    finally:
        p.send_signal(15)
        try:
            rc = p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
        nsock.close()
    check(rc == 0, f"the wall run as vwall exits 0 on SIGTERM, got {rc}")


def check_installed():
    user = pwd.getpwnam("vwall")
    groups = {g.gr_name for g in grp.getgrall() if "vwall" in g.gr_mem}
    check({"video", "render", "wallops"} <= groups,
          f"the vwall user is in video, render and wallops: {sorted(groups)}")
    check(user.pw_dir == "/var/lib/vwall" and user.pw_shell.endswith("nologin"),
          f"vwall: home /var/lib/vwall, no login shell: {user}")
    st = os.stat("/var/lib/vwall")
    check(st.st_uid == user.pw_uid, "/var/lib/vwall belongs to vwall")

    # --version: the version the package was built with, git describe's in a git checkout.
    with open(os.path.join(DIR, "gen", "vwall_version.h")) as f:
        version = f.read().split('VWALL_VERSION "')[1].split('"')[0]
    if os.path.exists(os.path.join(SRC, ".git")):
        described = run(["git", "-C", SRC, "describe", "--tags", "--always", "--dirty"]).stdout.strip()
        check(described and described.lstrip("v") in version,
              f"the version {version!r} is git describe's {described!r}")
    for prog in ("vwall", "vwallctl"):
        inst = run([f"/usr/bin/{prog}", "--version"]).stdout.strip()
        check(inst == f"{prog} {version}", f"installed {prog} --version: {inst!r}, want {version!r}")

    use_installed("/usr/bin/vwall", "/etc/vwall/example.cfg", "/usr/share/vwall", "dpkg -i")
    run_as_service_user()

    unit = "/usr/lib/systemd/system/vwall@.service"
    with open(unit) as f:
        text = f.read()
    for line in ("Type=notify", "WatchdogSec=10", "Restart=always", "NoNewPrivileges=yes",
                 "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                 "StateDirectory=vwall", "RuntimeDirectory=vwall", "User=vwall",
                 "ExecStart=/usr/bin/vwall --config /etc/vwall/%i.cfg"):
        check(f"\n{line}\n" in text, f"vwall@.service has {line}")
    p = run(["systemd-analyze", "verify", "/usr/lib/systemd/system/vwall@example.service"])
    noise = [line for line in (p.stdout + p.stderr).split("\n") if "vwall" in line]
    check(p.returncode == 0 and not noise,
          f"systemd-analyze verify vwall@example.service: exit {p.returncode}, {noise}")

    env = dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat")
    for page, marker in (("1 vwall", "THE SERVICE"), ("1 vwallctl", "COMMANDS"),
                         ("5 vwall.cfg", "SOURCES")):
        p = run(["man", *page.split()], env=env)
        check(p.returncode == 0 and marker in p.stdout,
              f"man {page}: exit {p.returncode}, shows {marker}")


if PART == "install":
    test_install()
elif PART == "deb":
    test_deb()
else:
    sys.exit(f"unknown part {PART}")
finish("install_tree" if PART == "install" else "package_deb")
