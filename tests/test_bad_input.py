"""The bad-input corpus (tests/bad_input_corpus.py) through every entry point it applies to.

Each case runs in its own folder (its working folder, where its outputs would go) with the package's caches
redirected to a folder of the test's own. A refusal must exit with code 2 and one line on stderr that names what is
wrong (the case's ``match``: the field, flag or file), no traceback; a verifier verdict exits 1 naming the failed
check; nothing is written or changed anywhere: the case folder, the folder of all cases (a write to ``..``), the
caches; and all within a memory and time budget. A valid variant must be accepted and write what it promises. Every
case calls the command-line main in-process (peak memory from tracemalloc, which sees numpy's and pickle's
allocations); a sample runs through real subprocesses, and kill -9 checks the crash hygiene of the converter and
the miner.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
import tracemalloc
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import bad_input_corpus as corpus  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PEAK_MB = 300  # per case, in-process (the valid clips need ~10 MB; the attacks ask for gigabytes)
CASE_SECONDS = 30.0
#: train/play: the first refusal imports skrl and the task configs (~10 s of a busy 2-core machine); an env build
#: (what a refusal must come before) takes minutes more
SLOW_ENTRY_SECONDS = {"train": 60.0, "play": 60.0}
#: a valid variant does the work (a conversion, a short mining run): its budget is not a refusal's
ACCEPT_SECONDS = 180.0
HUNG_SECONDS = 120
#: how long the miner's fork server and workers may outlive a kill -9 of the parent
ORPHAN_SECONDS = 30.0
IGNORED: set[str] = set()  # MuJoCo's MUJOCO_LOG.TXT counts as a written file (robots.mjcf routes it to logging)
#: exit code of each expectation (errors.EXIT_BAD_INPUT for a refusal; the verifier's FAILED verdict is 1)
EXIT = {"refuse": 2, "verdict": 1, "accept": 0}
#: where the package writes caches (USD assets, Warp kernels, the demo dataset): redirected per test run
CACHE_ENV = ("WILDROBOT_AMP_CACHE", "WARP_CACHE_PATH")


def _script_main(name: str):
    spec = importlib.util.spec_from_file_location(f"_entry_{name}", REPO / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _mains() -> dict:
    from wildrobot_amp_ext import mine
    from wildrobot_amp_ext.dataset import analyze, convert, verify
    from wildrobot_amp_ext.robots import __main__ as robots
    from wildrobot_amp_ext.viewing import cli as viewer

    return {
        "convert": convert.main,
        "verify": verify.main,
        "analyze": analyze.main,
        "mine": mine.main,
        "view": viewer.main,
        "robots": robots.main,
        "train": _script_main("train_amp"),
        "play": _script_main("play"),
    }


#: the command a user types (README), for the subprocess sample: the console scripts installed with the package
BIN = Path(sys.executable).parent
COMMANDS = {
    "convert": [str(BIN / "wildrobot-convert")],
    "verify": [str(BIN / "wildrobot-verify")],
    "analyze": [str(BIN / "wildrobot-analyze")],
    "mine": [str(BIN / "wildrobot-mine")],
    "view": [str(BIN / "wildrobot-view")],
    "robots": [sys.executable, "-m", "wildrobot_amp_ext.robots"],
    "train": [sys.executable, str(REPO / "train_amp.py")],
    "play": [sys.executable, str(REPO / "play.py")],
}


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for path in folder.rglob("*"):
        if path.name not in IGNORED:
            st = path.lstat()
            out[str(path.relative_to(folder))] = (st.st_size, st.st_mtime_ns)
    return out


def _world(folder: Path, cache: Path) -> dict:
    """What a case could write to: its folder (working and output folder), the folder of all cases (a write to
    ``..``: its names only, the other cases' folders are theirs) and the package's caches."""
    return {"case": _snapshot(folder), "cases": sorted(os.listdir(folder.parent)), "cache": _snapshot(cache)}


def _run_in_process(main, argv: list[str], folder: Path) -> tuple[int, str, str, float, float]:
    """Exit code, stderr, stdout, peak traced memory (MB) and seconds of ``main(argv)`` run inside ``folder``."""
    err, out = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(folder)
    tracemalloc.start()
    start = time.perf_counter()
    previous = signal.signal(signal.SIGALRM, _hung)  # a FIFO opened for reading blocks forever: fail, do not hang
    signal.alarm(HUNG_SECONDS)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - anything else is a crash: record it as a traceback
        err.write(traceback.format_exc())
        code = -1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        os.chdir(cwd)
    return int(code or 0), err.getvalue(), out.getvalue(), peak, seconds


def _output_problems(case: corpus.Case, folder: Path, stdout: str) -> list[str]:
    """A valid variant must write what it promises (not merely exit 0)."""
    if case.entry == "convert":
        from wildrobot_amp_ext.dataset.schema import load_dataset

        out = folder / case.output
        if not out.is_file():
            return [f"accepted but wrote no {case.output}"]
        ds = load_dataset(out)
        if ds.num_clips != 1 or ds.fps != 50.0 or not np.isfinite(ds.features).all():
            return [f"accepted but wrote {ds.num_clips} clip(s) at {ds.fps} Hz"]
        return []
    if case.entry == "mine":
        from wildrobot_amp_ext.dataset.schema import load_dataset

        out = folder / case.output
        if not out.is_file():
            return [f"accepted but wrote no {case.output}"]
        ds = load_dataset(out)
        report = folder / f"{Path(case.output).stem}_report" / "report.json"
        if ds.num_frames == 0 or not np.isfinite(ds.features).all() or not report.is_file():
            return [f"accepted but wrote {ds.num_frames} frames, report {report.is_file()}"]
        return []
    if case.entry == "verify":
        return [] if "OK:" in stdout and "[FAIL]" not in stdout else [f"no OK verdict: {stdout[-200:]!r}"]
    if case.entry == "robots":
        return [] if f"robot: {corpus.ROBOT}" in stdout else [f"printed no robot summary: {stdout[:200]!r}"]
    return [f"no output check for a valid {case.entry} case"]


class _Hung(Exception):
    pass


def _hung(signum, frame):
    raise _Hung(f"no answer after {HUNG_SECONDS} s (blocked on a FIFO or device?)")


#: characters that must never reach the terminal from a refusal line (file names are shown escaped)
CONTROL = ("\x1b", "\u202e", "\x00")


def _problems(case: corpus.Case, code: int, stderr: str, stdout: str, before: dict, after: dict) -> list[str]:
    """What is wrong with a case's outcome (empty: as expected); ``before``/``after``: :func:`_world`."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    found = []
    if code != EXIT[case.expect]:
        found.append(f"exit {code}, expected {EXIT[case.expect]} ({case.expect}): {lines[-2:]}")
    if "Traceback" in stderr or code == -1:
        found.append(f"traceback: {lines[-1:]}")
    if before != after:
        changed = {
            k: sorted(set(map(str, after[k])) ^ set(map(str, before[k])))[:3] for k in before if before[k] != after[k]
        }
        if case.expect != "accept" or set(changed) != {"case"}:  # a valid variant writes into its own folder
            found.append(f"files written or changed: {changed}")
    if case.expect == "refuse":
        if len(lines) != 1:
            found.append(f"{len(lines)} stderr lines, expected one: {lines[:2]}")
        if lines and not lines[-1].startswith("error:"):
            found.append(f"the line is no error line: {lines[-1][:120]!r}")
        if lines and case.match not in lines[-1]:
            found.append(f"message lacks {case.match!r}: {lines[-1][:200]!r}")
        if any(ch in stderr for ch in CONTROL):
            found.append(f"control characters reach the terminal: {stderr[-120:]!r}")
    if case.expect == "verdict" and case.match not in stdout:
        found.append(f"report lacks {case.match!r}: {stdout[-200:]!r}")
    if case.expect == "accept" and any(ch in stdout + stderr for ch in CONTROL):
        found.append(f"control characters (from a file name?) reach the terminal: {(stdout + stderr)[-160:]!r}")
    return found


def _budget(case: corpus.Case, peak: float, seconds: float) -> list[str]:
    found = [f"peak {peak:.0f} MB > {PEAK_MB} MB"] if peak > PEAK_MB else []
    limit = ACCEPT_SECONDS if case.expect == "accept" else SLOW_ENTRY_SECONDS.get(case.entry, CASE_SECONDS)
    return found + ([f"{seconds:.1f} s > {limit} s"] if seconds > limit else [])


@pytest.fixture(scope="module")
def cases():
    return corpus.build_cases()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """The package's caches, redirected to a folder of this test (what a refusal writes there is seen)."""
    root = tmp_path / "cache"
    root.mkdir()
    for name in CACHE_ENV:
        monkeypatch.setenv(name, str(root / name.lower()))
    return root


def test_corpus_is_a_table_of_distinct_cases(cases):
    """Every refusal names what it refuses; every valid variant names what it must write."""
    kinds = Counter(c.expect for c in cases)
    assert kinds["refuse"] >= 375 and kinds["accept"] >= 17 and kinds["verdict"] >= 5, kinds
    assert all(c.match for c in cases if c.expect != "accept")
    assert all(c.output for c in cases if c.expect == "accept" and c.entry in ("convert", "mine"))
    assert set(c.entry for c in cases) == set(_mains())


def test_corpus_in_process(cases, tmp_path, cache):
    """Every case through its entry point's main, in this process."""
    mains = _mains()
    root = tmp_path / "cases"
    failures, per_entry, peaks, times = [], Counter(), [], []
    for case in cases:
        folder = corpus.write_case(case, root)
        before = _world(folder, cache)
        code, stderr, stdout, peak, seconds = _run_in_process(mains[case.entry], case.argv, folder)
        problems = _problems(case, code, stderr, stdout, before, _world(folder, cache)) + _budget(case, peak, seconds)
        if case.expect == "accept" and code == 0:
            problems += _output_problems(case, folder, stdout)
        if (folder / "pwned").exists() or Path("pwned").exists():
            problems.append("a payload ran")
        if problems:
            failures.append(f"{case.id} [{case.entry}]: {'; '.join(problems)}")
        per_entry[f"{case.entry}:{case.expect}"] += 1
        peaks.append((peak, case.id))
        times.append((seconds, case.id))
        shutil.rmtree(folder)  # keeps the folder of all cases small (and its listing a check of writes to '..')
    print(f"\n{len(cases)} cases: {dict(sorted(per_entry.items()))}")
    print(
        f"peak memory max {max(peaks)[0]:.1f} MB ({max(peaks)[1]}); slowest {max(times)[0]:.2f} s ({max(times)[1]}); "
        f"total {sum(t for t, _ in times):.1f} s"
    )
    assert not failures, f"{len(failures)} case(s) failed:\n" + "\n".join(failures)


#: whole-process peak RSS of one refusal in a fresh interpreter (imports included: torch and MuJoCo take ~0.5 GB);
#: tracemalloc in-process does not see torch's or MuJoCo's own allocators, this does
SUBPROCESS_RSS_MB = 1500


def _peak_rss_mb(pid: int) -> float:
    """The process's RSS high-water mark (VmHWM) in MB, 0 once it is gone.

    Not rusage's ru_maxrss: Linux carries the forking parent's high-water mark into the child across exec, so a
    child of a pytest process that has built Isaac Lab envs reports that process's ~1.8 GB."""
    try:
        with open(f"/proc/{pid}/status") as status:
            line = next((ln for ln in status if ln.startswith("VmHWM:")), "")
    except OSError:
        return 0.0
    return float(line.split()[1]) / 1024 if line else 0.0


def _subprocess(case: corpus.Case, folder: Path, timeout: float = 120) -> tuple[int, str, str, float, float]:
    """Exit code, stderr, stdout, peak RSS (MB, the child's own VmHWM polled until it exits) and seconds of the
    command a user types (stdout and stderr go to files beside the case folder)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    logs = folder.parent.parent / "logs"
    logs.mkdir(exist_ok=True)
    with open(logs / f"{case.id}.stderr", "w+") as err, open(logs / f"{case.id}.stdout", "w+") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [*COMMANDS[case.entry], *case.argv],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
        peak = 0.0
        while True:
            # read before reaping: a zombie's /proc status has no memory lines, a reaped one none at all
            peak = max(peak, _peak_rss_mb(proc.pid))
            pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout:
                proc.kill()
                pid, status, _ = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen from waiting again
        err.seek(0)
        out.seek(0)
        return proc.returncode, err.read(), out.read(), peak, time.perf_counter() - start


def test_corpus_sample_through_subprocesses(cases, tmp_path, cache):
    """The exit code, stderr and whole-process memory a user sees, for a sample of cases (each a fresh interpreter)."""
    sample = [c for c in cases if c.subprocess]
    assert len(sample) >= 12 and {c.expect for c in sample} == set(EXIT)
    failures, rss = [], []
    for case in sample:
        folder = corpus.write_case(case, tmp_path / "cases")
        before = _world(folder, cache)
        code, stderr, stdout, peak_mb, seconds = _subprocess(case, folder)
        problems = _problems(case, code, stderr, stdout, before, _world(folder, cache))
        if case.expect == "accept" and code == 0:
            problems += _output_problems(case, folder, stdout)
        if peak_mb > SUBPROCESS_RSS_MB:
            problems.append(f"peak RSS {peak_mb:.0f} MB > {SUBPROCESS_RSS_MB} MB")
        rss.append((peak_mb, seconds, case.id))
        if problems:
            failures.append(f"{case.id}: {'; '.join(problems)}")
    print("\n" + "\n".join(f"{mb:7.0f} MB {sec:5.1f} s  {cid}" for mb, sec, cid in sorted(rss)))
    assert not failures, "\n".join(failures)


#: Permission cases need a process the mode bits apply to. Root writes into a read-only folder (a check there passes
#: without testing anything), and ``nobody`` cannot run this interpreter where it lives under /root (mode 0700):
#: root keeps its uid but drops every capability (CAP_DAC_OVERRIDE above all) and the right to regain them
DROP_ROOT = (
    "--securebits=+noroot,+noroot_locked,+no_setuid_fixup,+no_setuid_fixup_locked",
    "--bounding-set=-all",
    "--inh-caps=-all",
)
#: runs cases in-process inside the unprivileged interpreter: argv = tests folder, probe folder, cases JSON
DRIVER = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import test_bad_input as T
mains = T._mains()
try:
    (Path(sys.argv[2]) / "probe").write_text("x")
    denied = False
except PermissionError:
    denied = True
done = [T._run_in_process(mains[e], argv, Path(f))[:3] for f, e, argv in json.loads(sys.argv[3])]
print(json.dumps({"denied": denied, "cases": done}))
"""
#: outputs the user cannot write (``ro/`` a folder of mode 0555, ``ro.npz`` a file of mode 0444): id, entry, argv,
#: the field the refusal names
PERMISSION_CASES = [
    ("convert_output_in_ro", "convert", corpus.convert_argv("in.pkl", "ro/ref.npz"), "field '--output'"),
    ("convert_output_read_only", "convert", corpus.convert_argv("in.pkl", "ro.npz"), "field '--output'"),
    ("convert_export_pkl_in_ro", "convert", corpus.convert_argv("in.pkl", "r.npz", "--export-pkl", "ro/x.pkl"),
     "field '--export-pkl'"),
    ("mine_output_in_ro", "mine", [*corpus.MINE, "--input", "in.pkl", "--output", "ro/t.npz"], "field '--output'"),
    ("mine_report_dir_in_ro", "mine", [*corpus.MINE, "--input", "in.pkl", "--output", "t.npz", "--report-dir",
     "ro/rep"], "field '--report-dir'"),
    ("mine_cache_dir_ro", "mine", [*corpus.MINE, "--input", "in.pkl", "--output", "t.npz", "--cache-dir", "ro"],
     "field '--cache-dir'"),
    ("analyze_out_in_ro", "analyze", ["ds.npz", "--out", "ro/an", "--no-video"], "field '--out'"),
    ("view_out_in_ro", "view", ["in.pkl", "--robot", corpus.ROBOT, "--out", "ro/v.mp4"], "field '--out'"),
    ("robots_export_in_ro", "robots", [corpus.ROBOT, "--export-mjcf", "ro/m"], "field '--export-mjcf'"),
    ("train_log_root_in_ro", "train", [*corpus.TRAIN, "--log_root", "ro/logs"], "field '--log_root'"),
]  # fmt: skip


def test_outputs_the_user_cannot_write_are_refused_unprivileged(tmp_path, cache):
    """Each output a user cannot write is refused in one line naming its flag, before any work, with nothing
    written, by a process without privileges (and the test proves it has none: its own write into ``ro/`` fails)."""
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv (util-linux): root writes into read-only folders")
        prefix = [setpriv, *DROP_ROOT, "--"]
    else:
        prefix = []
    base, arrays = corpus.walk_dict(), corpus.dataset_arrays()
    files = {"in.pkl": corpus.pkl(base), "ds.npz": corpus.npz_bytes(arrays), "ro.npz": b"x"}
    cases = [corpus.Case(cid, entry, argv, match=match, files=files) for cid, entry, argv, match in PERMISSION_CASES]
    folders = [corpus.write_case(case, tmp_path / "cases") for case in cases]
    for folder in folders:
        (folder / "ro").mkdir()
        (folder / "ro").chmod(0o555)
        (folder / "ro.npz").chmod(0o444)
    before = [_world(folder, cache) for folder in folders]
    runs = json.dumps([[str(f), c.entry, c.argv] for f, c in zip(folders, cases)])
    done = subprocess.run(
        [*prefix, sys.executable, "-c", DRIVER, str(REPO / "tests"), str(folders[0] / "ro"), runs],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["denied"], "the unprivileged process wrote into a read-only folder: this test would test nothing"
    failures = []
    for case, folder, old, (code, stderr, stdout) in zip(cases, folders, before, result["cases"]):
        problems = _problems(case, code, stderr, stdout, old, _world(folder, cache))
        if problems:
            failures.append(f"{case.id}: {'; '.join(problems)}")
    assert not failures, "\n".join(failures)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "?"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:160]
    except OSError:
        return "?"


def _session_processes(sid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # a zombie is dead, only not yet reaped (the container's init may reap late)
                if os.getsid(int(entry.name)) == sid and _state(int(entry.name)) != "Z":
                    pids.append(int(entry.name))
            except (ProcessLookupError, PermissionError):
                continue
    return pids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="kill -9 / process-session checks are Linux-only")
def test_kill9_miner_leaves_no_processes_and_a_usable_cache(tmp_path):
    """kill -9 of the miner mid-run: its fork server and workers die with it; a truncated cache entry is redone."""
    base = corpus.walk_dict(seconds=2.0)
    (tmp_path / "m").mkdir()
    for k in range(2):
        (tmp_path / "m" / f"walk{k}.pkl").write_bytes(corpus.pkl({**base, "root_pos": base["root_pos"] + k}))
    cmd = [
        "-m",
        "wildrobot_amp_ext.mine",
        "--robot",
        corpus.ROBOT,
        "--input",
        "m",
        "--output",
        "t.npz",
        "--workers",
        "2",
        "--no-plots",
        "--no-progress",
    ]
    cache = tmp_path / "t.cache"

    def workers_started() -> bool:
        return len(_session_processes(proc_sid[0])) >= 3 if proc_sid else False

    proc_sid: list[int] = []
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, *cmd],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    proc_sid.append(proc.pid)
    deadline = time.time() + 90
    while time.time() < deadline and proc.poll() is None and not workers_started():
        time.sleep(0.05)
    alive_before = len(_session_processes(proc.pid))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # a fork server killed mid-preload finishes importing, then sees its parent gone: seconds on a busy machine
    # (before the fix they lived on for over a minute)
    start = time.time()
    deadline = start + ORPHAN_SECONDS
    while time.time() < deadline and _session_processes(proc.pid):
        time.sleep(0.1)
    left = _session_processes(proc.pid)
    names = [_cmdline(pid) for pid in left]
    for pid in left:  # clean up before asserting
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert alive_before >= 3, "the miner never started its workers"
    print(f"\nminer processes gone {time.time() - start:.1f} s after kill -9 of the parent")
    assert not left, f"{len(left)} miner process(es) outlived the parent by {ORPHAN_SECONDS} s: {names}"
    # a truncated cache entry (as a kill mid-write of an older version left) is redone, not a BadZipFile traceback
    cache.mkdir(exist_ok=True)
    from wildrobot_amp_ext.mine import build_parser, config_from_args
    from wildrobot_amp_ext.miner.runner import plan_jobs
    from wildrobot_amp_ext.motion.io import load_motions
    from wildrobot_amp_ext.robots import load_robot

    robot = load_robot(corpus.ROBOT)
    args = build_parser().parse_args(["--robot", corpus.ROBOT, "--input", "m", "--output", "t.npz"])
    jobs, _ = plan_jobs(load_motions(tmp_path / "m", robot, show_progress=False), robot, config_from_args(args))
    from wildrobot_amp_ext.miner.runner import _cache_file

    broken = _cache_file(cache, jobs[0])
    broken.write_bytes(b"PK\x03\x04 truncated")
    done = subprocess.run(
        [sys.executable, *cmd[:-2], "--workers", "1", "--no-plots", "--no-progress"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "t.npz").is_file()


def test_kill9_converter_temp_files_are_cleaned_by_the_next_run(tmp_path):
    """A write killed mid-way leaves a temp file beside the output; the next run removes it (and writes the output)."""
    base = corpus.walk_dict()
    (tmp_path / "in.pkl").write_bytes(corpus.pkl(base))
    out = tmp_path / "ref.npz"
    # what kill -9 during save leaves: a temp file owned by a process that no longer exists
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = tmp_path / f".ref.npz.pid{dead.pid}.abcd.npz"
    orphan.write_bytes(b"\0" * 1024)
    old_style = tmp_path / ".ref.npz.k3j4h5g6.npz"  # the name format before temp files carried the pid
    old_style.write_bytes(b"\0" * 1024)
    os.utime(old_style, (0, 0))
    from wildrobot_amp_ext.dataset.convert import main

    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # a write still under way
    live = tmp_path / f".ref.npz.pid{writer.pid}.efgh.npz"
    live.write_bytes(b"\0" * 16)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert main(corpus.convert_argv("in.pkl", "ref.npz")) == 0
    finally:
        os.chdir(cwd)
        writer.kill()
        writer.wait()
    assert live.exists(), "the temp file of a live writer was removed"
    assert out.is_file() and not orphan.exists() and not old_style.exists()


def test_mujoco_warnings_do_not_write_a_log_into_the_working_folder(tmp_path):
    """An unstable simulation makes MuJoCo warn; its default handler appends MUJOCO_LOG.TXT to the working folder
    (the control run without the package shows it does), the package routes warnings to logging instead."""
    unstable = (
        "import mujoco; m = mujoco.MjModel.from_xml_string('<mujoco><worldbody><body><freejoint/>"
        '<geom size=".1"/></body></worldbody></mujoco>\'); d = mujoco.MjData(m); d.qvel[:] = 1e300; '
        "mujoco.mj_step(m, d)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    (tmp_path / "control").mkdir()
    subprocess.run([sys.executable, "-c", unstable], cwd=tmp_path / "control", env=env, capture_output=True, timeout=60)
    assert (tmp_path / "control" / "MUJOCO_LOG.TXT").is_file(), "control: MuJoCo no longer writes its log"
    (tmp_path / "package").mkdir()
    done = subprocess.run(
        [sys.executable, "-c", "import wildrobot_amp_ext.robots.mjcf; " + unstable],
        cwd=tmp_path / "package",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-500:]
    assert not (tmp_path / "package" / "MUJOCO_LOG.TXT").exists()
    assert "MuJoCo: Nan, Inf or huge value" in done.stderr
