#!/usr/bin/python3
"""jack_host.py — the JACK host end to end, against a real jackd.

    jack_host.py SCENARIO        (run under ictal-with-jackd, which starts a
                                  private dummy-backend jackd and exports
                                  JACK_DEFAULT_SERVER; tests/cmake/integration.cmake)

Real parts only: ictal-play plays an ictal-synth recording into the graph,
ictal-detect runs the pipeline inside the JACK cycle and sends OSC over real
sockets to ictal-log and to liblo's own oscdump; the events they receive are
compared with ictal-run's on the same file. Every run of ictal-detect and
ictal-play is under the RT guard (librtguard_jack.so via LD_PRELOAD), whose
reports must show guarded cycles and no allocation, lock, sleep or I/O in a
process callback (ictal-play is not armed while freewheeling: it may wait
for its disk thread then; docs/ictal-play.md).

Scenarios:
  realtime   a 40 s recording in real time at 256 Hz / 64 frames
  freewheel  one hour in freewheel at 256 Hz / 256 frames
  bufsize    buffer-size changes during a real-time replay: followed, detection goes on
  resample   5 min in freewheel at 48 kHz / 256: ictal-play converts the file
             up, ictal-detect back down: same event count, boundaries within
             one frame
  xruns      real time with a client that stalls its cycle: xruns counted,
             reported over OSC and in the journal, the replay survives
  death      jackd killed mid-stream: ictal-detect flushes, journals and
             exits 1 with a clear message
  late       the logger starts after the first events: a TCP target catches
             up, nothing lost
  barrage    a malformed-OSC barrage at ictal-log during a replay
  errors     bad inputs to ictal-detect: one clear line, the right status

Environment (from CMake): ICTAL_BIN (build dir), ICTAL_SRC (source dir),
ICTAL_TEST_TMPDIR, ICTAL_MODEL (model file; its post-processing defaults
are used, thresholds calibrated when it is the random test model),
ICTAL_RT_GUARD_LIB / ICTAL_RT_GUARD_CHECK ("" lib: a sanitizer build, the
guard is reported unavailable and not checked).
"""
import json
import os
import random
import shlex
import signal
import socket
import subprocess
import sys
import time

BIN = os.environ.get("ICTAL_BIN", "")
SRC = os.environ.get("ICTAL_SRC", "")
TMP = os.environ.get("ICTAL_TEST_TMPDIR", "/tmp")
PY = "/usr/bin/python3"

PROGS = {
    "synth": "tools/ictal-synth",
    "run": "tools/ictal-run",
    "detect": "clients/ictal-detect/ictal-detect",
    "play": "clients/ictal-play/ictal-play",
    "log": "clients/ictal-log/ictal-log",
    "stall": "tests/stall_client",
}

# Fields of an event record that must agree exactly between ictal-run and
# what arrives over OSC (seconds and probabilities as the JSON writer prints
# them: the shortest text that reads back to the same value).
EXACT = ["kind", "id", "segment", "start_frame", "end_frame", "emit_frame", "start_sample",
         "end_sample", "emit_sample", "start_s", "end_s", "emit_s", "duration_s", "confidence",
         "method", "percentile", "peak", "channels", "flags"]

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr, flush=True)


def check(cond, msg):
    if not cond:
        fail(msg)
    return cond


def prog(name):
    return os.path.join(BIN, PROGS[name])


def say(msg):
    print(msg, flush=True)


# ---- processes ------------------------------------------------------------------

class Proc:
    """A program in the background, its stdout and stderr in files."""
    live = []

    def __init__(self, name, argv, env=None, guard=None):
        self.name = name
        self.out = os.path.join(TMP, name + ".out")
        self.err = os.path.join(TMP, name + ".err")
        e = dict(os.environ)
        if env:
            e.update(env)
        if guard and os.environ.get("ICTAL_RT_GUARD_LIB"):
            e["LD_PRELOAD"] = os.environ["ICTAL_RT_GUARD_LIB"]
            e["ICTAL_RT_GUARD_REPORT"] = os.path.join(TMP, "rt-guard", name + "-%p.json")
            e["ICTAL_RT_GUARD_FREEWHEEL"] = guard
        self.argv = argv
        self.p = subprocess.Popen(argv, stdout=open(self.out, "w"), stderr=open(self.err, "w"),
                                  env=e, stdin=subprocess.DEVNULL)
        Proc.live.append(self)

    def wait(self, timeout):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            fail(f"{self.name} did not finish within {timeout} s: {shlex.join(self.argv)}")
            self.p.kill()
            self.p.wait()
            return None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        return self.wait(timeout)

    def stderr(self):
        with open(self.err, errors="replace") as f:
            return f.read()

    def stdout(self):
        with open(self.out, errors="replace") as f:
            return f.read()

    @staticmethod
    def cleanup():
        for p in Proc.live:
            if p.p.poll() is None:
                p.p.kill()
                p.p.wait()


def run(argv, timeout=300, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    return r


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (ictal-log binds both)."""
    for _ in range(200):
        port = random.randint(20000, 60000)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
                    socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                u.bind(("127.0.0.1", port))
                t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


def wait_for(pred, timeout, what):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return True
        time.sleep(0.05)
    fail(f"timed out after {timeout} s waiting for {what}")
    return False


# ---- records ----------------------------------------------------------------------

def read_jsonl(path, kinds=("alarm", "cancel", "final")):
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                r = json.loads(line)
                if r.get("kind") in kinds:
                    out.append(r)
    return out


def parse_oscdump(path):
    """oscdump's lines: TIMETAG ADDRESS TYPES ARG... (strings quoted)."""
    recs = []
    kinds = {"/ictal/alarm": "alarm", "/ictal/cancel": "cancel", "/ictal/event": "final"}
    names = ["source", "stream", "id", "segment", "start_frame", "end_frame", "emit_frame",
             "start_sample", "end_sample", "emit_sample", "start_s", "end_s", "emit_s",
             "duration_s", "confidence", "method", "percentile", "peak", "channels", "flags"]
    with open(path, errors="replace") as f:
        for line in f:
            parts = line.split(None, 3)
            if len(parts) < 3 or parts[1] not in kinds:
                continue
            types = parts[2]
            args = shlex.split(parts[3]) if len(parts) > 3 else []
            if len(args) != len(types):
                fail(f"oscdump line does not parse: {line.strip()}")
                continue
            r = {"kind": kinds[parts[1]]}
            for n, t, a in zip(names, types, args):
                r[n] = int(a) if t in "ih" else float(a) if t in "fd" else a
            r["channels"] = r["channels"].split(",") if r["channels"] else []
            r["flags"] = r["flags"].split("|") if r["flags"] else []
            recs.append(r)
    return recs


def compare(ref, got, what, float_tol=0.0, frame_tol=0, fields=EXACT):
    """Record lists equal field by field (floats within float_tol, frame/sample
    boundaries within frame_tol frames when given)."""
    if not check(len(ref) == len(got), f"{what}: {len(got)} records, ictal-run made {len(ref)}"):
        for i in range(max(len(ref), len(got))):
            a = ref[i] if i < len(ref) else None
            b = got[i] if i < len(got) else None
            print(f"  ref {i}: {a and {k: a.get(k) for k in ('kind', 'id', 'start_s', 'end_s')}}",
                  file=sys.stderr)
            print(f"  got {i}: {b and {k: b.get(k) for k in ('kind', 'id', 'start_s', 'end_s')}}",
                  file=sys.stderr)
        return False
    ok = True
    for i, (a, b) in enumerate(zip(ref, got)):
        for k in fields:
            x, y = a.get(k), b.get(k)
            if isinstance(x, float) or isinstance(y, float):
                tol = float_tol
                if frame_tol and k.endswith("_s"):
                    tol = max(tol, frame_tol * FRAME_S)
                good = x is not None and y is not None and abs(float(x) - float(y)) <= tol
            elif frame_tol and (k.endswith("_frame") or k.endswith("_sample")):
                unit = 1 if k.endswith("_frame") else HOP
                good = abs(int(x) - int(y)) <= frame_tol * unit
            else:
                good = x == y
            if not good:
                ok = check(False, f"{what}: record {i} ({a.get('kind')} #{a.get('id')}): {k} "
                                  f"is {y!r}, ictal-run says {x!r}")
                break
    return ok


FRAME_S = 0.125
HOP = 32


# ---- the pieces of a replay -------------------------------------------------------------

def synth(name, duration, seizures, seed):
    path = os.path.join(TMP, name + ".edf")
    r = run([prog("synth"), "--duration", str(duration), "--montage", "chbmit", "--seizures",
             str(seizures), "--seed", str(seed), "-q", "-o", path])
    if r.returncode != 0:
        raise RuntimeError("ictal-synth: " + r.stderr)
    return path


def model_flags(rec):
    """Post-processing flags: none for a trained model (its own defaults);
    for the random-weight test model, thresholds at the level its
    probability hovers around, found with a first ictal-run."""
    model = os.environ["ICTAL_MODEL"]
    if "golden" not in model:
        return []
    prefix = os.path.join(TMP, "level")
    r = run([prog("run"), "-m", model, "--threshold-on", "0", "--threshold-off", "0",
             "--opening", "0", "--closing", "0", "--min-duration", "0", "-f", "json", "-o",
             prefix, rec])
    if r.returncode != 0:
        raise RuntimeError("ictal-run (level): " + r.stderr)
    fin = [x for x in read_jsonl(prefix + ".jsonl") if x["kind"] == "final"]
    th = "%.6f" % fin[0]["confidence"]
    return ["--threshold-on", th, "--threshold-off", th, "--opening", "0", "--closing", "0",
            "--min-duration", "2s", "--merge-gap", "2s"]


def reference(rec, flags, extra=()):
    prefix = os.path.join(TMP, "ref")
    r = run([prog("run"), "-m", os.environ["ICTAL_MODEL"], *flags, *extra, "-f", "json", "-o",
             prefix, rec])
    if r.returncode != 0:
        raise RuntimeError("ictal-run: " + r.stderr)
    return read_jsonl(prefix + ".jsonl")


def start_log(port, name="log", tcp_only=False):
    stats = os.path.join(TMP, name + "-stats.json")
    jsonl = os.path.join(TMP, name + ".jsonl")
    for p in (stats,):
        if os.path.exists(p):
            os.unlink(p)
    argv = [prog("log"), "-p", str(port), "-o", "jsonl,csv_bi", "--jsonl", jsonl,
            "--csv-bi", os.path.join(TMP, name + "-{stream}.csv_bi"), "--stats-json", stats]
    if tcp_only:
        argv.append("--tcp-only")
    p = Proc(name, argv)
    wait_for(lambda: os.path.exists(stats), 10, "ictal-log to listen")
    p.jsonl, p.stats = jsonl, stats
    return p


def start_oscdump(port):
    p = Proc("oscdump", ["oscdump", "-L", str(port)])
    time.sleep(0.3)
    return p


def client_names():
    tag = str(os.getpid())
    return "play-" + tag, "detect-" + tag


def start_play(rec, name, freewheel, extra=()):
    argv = [prog("play"), "-n", name, "--wait", *(["--freewheel"] if freewheel else []),
            *extra, rec]
    return Proc("play", argv, guard="skip" if freewheel else "guard")


def start_detect(name, play_name, flags, targets, extra=(), proc_name="detect"):
    journal = os.path.join(TMP, proc_name + "-journal.jsonl")
    report = os.path.join(TMP, proc_name + "-report")
    argv = [prog("detect"), "-m", os.environ["ICTAL_MODEL"], "-n", name, "--connect",
            play_name + ":.*", "--exit-on-idle", "--journal", journal, "--report", report,
            *flags, *extra]
    for t in targets:
        argv += ["--osc", t]
    p = Proc(proc_name, argv, guard="guard")
    p.journal, p.report = journal, report
    return p


def rt_guard_verify():
    lib = os.environ.get("ICTAL_RT_GUARD_LIB")
    if not lib:
        say("RT guard: unavailable (" + os.environ.get("ICTAL_RT_GUARD_UNAVAILABLE", "?") +
            "): not checked")
        return
    d = os.path.join(TMP, "rt-guard")
    r = run([PY, os.environ["ICTAL_RT_GUARD_CHECK"], d])
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    check(r.returncode == 0, f"RT guard: violations or missing reports in {d} (status "
                             f"{r.returncode})")


def replay(rec, freewheel, flags, tol=0.0, frame_tol=0, play_extra=(), detect_extra=(),
           during=None, timeout=300, ref=None):
    """play → detect → log + oscdump; compare with ictal-run. Returns the
    procs for more checks."""
    port_log, port_dump = free_port(), free_port()
    log = start_log(port_log)
    dump = start_oscdump(port_dump)
    play_name, det_name = client_names()
    play = start_play(rec, play_name, freewheel, play_extra)
    wait_for(lambda: run(["jack_lsp", play_name + ":gate"]).stdout.strip() != "", 10,
             "ictal-play's ports")
    det = start_detect(det_name, play_name, flags,
                       [f"127.0.0.1:{port_log}", f"127.0.0.1:{port_dump}"], detect_extra)
    if during:
        during(play, det)
    rc_det = det.wait(timeout)
    rc_play = play.wait(30)
    check(rc_det == 0, f"ictal-detect exited {rc_det}: {det.stderr()[-2000:]}")
    check(rc_play == 0, f"ictal-play exited {rc_play}: {play.stderr()[-2000:]}")
    time.sleep(0.3)  # the last UDP datagrams
    check(log.stop() == 0, f"ictal-log exited badly: {log.stderr()[-2000:]}")
    dump.stop(signal.SIGKILL)
    if ref is None:
        ref = reference(rec, flags)
    say(f"ictal-run: {len(ref)} records; "
        f"{sum(1 for r in ref if r['kind'] == 'final')} final")
    check(any(r["kind"] == "final" for r in ref), "the reference has no final event: the "
          "comparison would prove little")
    compare(ref, read_jsonl(log.jsonl), "ictal-log", tol, frame_tol)
    compare(ref, parse_oscdump(dump.out), "oscdump", max(tol, 1e-6), frame_tol)
    compare(ref, read_jsonl(det.journal), "journal", tol, frame_tol)
    return log, dump, play, det, ref


def summary(det):
    with open(os.path.join(det.report, "summary.json")) as f:
        return json.load(f)


def log_stats(log):
    with open(log.stats) as f:
        return json.load(f)


# ---- scenarios ------------------------------------------------------------------------

def sc_realtime():
    rec = synth("rt", 40, 1, 21)
    flags = model_flags(rec)
    log, dump, play, det, ref = replay(rec, False, flags, timeout=120)
    s = summary(det)
    say(f"callback us: {s['callback_us']}, dsp load mean {s['dsp_load_mean_pct']} %")
    check(s["records_dropped"] == 0, "records dropped")
    check(s["streams"] == 1, f"{s['streams']} streams, expected 1")
    starts = [r for r in read_jsonl(det.journal, ("start", "stop"))]
    check([r["kind"] for r in starts] == ["start", "stop"] and starts[1]["reason"] == "gate",
          f"journal start/stop: {starts}")
    check(abs(starts[1]["t_s"] - 40.0) < 1e-9, f"stream length {starts[1]['t_s']} s, file 40 s")
    rt_guard_verify()


def sc_freewheel():
    rec = synth("fw", 3600, 4, 22)
    flags = model_flags(rec)
    t0 = time.time()
    log, dump, play, det, ref = replay(rec, True, flags, timeout=600)
    say(f"one hour replayed through JACK in {time.time() - t0:.1f} s wall")
    s = summary(det)
    check(s["records_dropped"] == 0, "records dropped")
    check(s["lost_samples"] == 0, f"{s['lost_samples']} samples bridged in freewheel")
    check(s["streams"] == 1, f"{s['streams']} streams, expected 1")
    rt_guard_verify()


def sc_bufsize():
    """Buffer-size changes while a replay runs in real time. jack2 1.9.21
    delivers no data from other clients in the cycle in which the size
    changes (observed with the dummy backend: a gated stream sees its gate
    drop there and starts again), so the check is that ictal-detect follows
    the new sizes and keeps detecting, not that the events equal ictal-run's."""
    rec = synth("bs", 30, 1, 28)
    flags = model_flags(rec)
    port_log = free_port()
    log = start_log(port_log)
    play_name, det_name = client_names()
    play = start_play(rec, play_name, False)
    wait_for(lambda: run(["jack_lsp", play_name + ":gate"]).stdout.strip() != "", 10,
             "ictal-play's ports")
    det = start_detect(det_name, play_name, flags, [f"127.0.0.1:{port_log}"],
                       ["--set", "detect.exit_on_idle=false"])
    sizes = []
    for size in (128, 32, 256):
        time.sleep(5)
        r = run(["jack_bufsize", str(size)])
        check(r.returncode == 0, f"jack_bufsize {size}: {r.stderr}")
        sizes.append(size)
    check(play.wait(60) == 0, f"ictal-play: {play.stderr()[-1500:]}")
    time.sleep(1)
    check(det.stop() == 0, f"ictal-detect after buffer-size changes: {det.stderr()[-1500:]}")
    time.sleep(0.3)
    log.stop()
    s = summary(det)
    check(s["period"] == 256, f"final period {s['period']}, expected 256")
    check(s["records_dropped"] == 0, "records dropped")
    stops = read_jsonl(det.journal, ("stop",))
    total = sum(r["t_s"] for r in stops)
    say(f"{len(stops)} stream(s), {total:.3f} s of the 30 s file processed")
    check(total <= 30 + 1e-9 and total >= 30 - len(sizes) * 256 / 256.0,
          f"streams cover {total} s of a 30 s file")
    rt_guard_verify()


def sc_resample():
    rec = synth("rs", 300, 2, 23)
    flags = model_flags(rec)
    # Both conversions use sinc_fastest to keep the test quick; the tolerance
    # is one frame for boundaries, and the probabilities differ slightly.
    extra = ["--set", "pipeline.resampler=sinc_fastest"]
    ref = reference(rec, flags)
    log, dump, play, det, _ = replay(
        rec, True, flags, tol=0.05, frame_tol=1,
        play_extra=["--resampler", "sinc_fastest"], detect_extra=extra, timeout=600, ref=ref)
    rt_guard_verify()


def sc_xruns():
    rec = synth("xr", 30, 1, 24)
    # Threshold 0: one event spans the file, so it overlaps every xrun and
    # must carry the xrun flag.
    flags = model_flags(rec) + ["--threshold-on", "0", "--threshold-off", "0",
                                "--min-duration", "0"]
    holder = {}

    def stall(play, det):
        holder["stall"] = Proc("stall", [prog("stall"), "--name", "stall-%d" % os.getpid(),
                                         "--every", "8", "--stall", "400", "--count", "3",
                                         "--delay", "3"])

    port_log = free_port()
    log = start_log(port_log)
    play_name, det_name = client_names()
    play = start_play(rec, play_name, False)
    wait_for(lambda: run(["jack_lsp", play_name + ":gate"]).stdout.strip() != "", 10,
             "ictal-play's ports")
    det = start_detect(det_name, play_name, flags, [f"127.0.0.1:{port_log}"])
    stall(play, det)
    rc = det.wait(120)
    check(rc == 0, f"ictal-detect exited {rc} after xruns: {det.stderr()[-2000:]}")
    play.wait(30)
    holder["stall"].stop()
    time.sleep(0.3)
    log.stop()
    s = summary(det)
    say(f"xruns counted by ictal-detect: {s['xruns']}")
    check(s["xruns"] >= 3, f"{s['xruns']} xruns counted, the stall client caused 3")
    xr = read_jsonl(det.journal, ("xrun",))
    check(len(xr) >= 3, f"{len(xr)} xrun lines in the journal")
    got = read_jsonl(log.jsonl, ("xrun",))
    check(len(got) >= 3, f"ictal-log received {len(got)} /ictal/xrun")
    check("latency violation" in det.stderr(), "no xrun warning on stderr")
    fin = read_jsonl(det.journal, ("final",))
    check(len(fin) == 1 and "xrun" in fin[0]["flags"],
          f"the event overlapping the xruns is not flagged: {[(r['id'], r['flags']) for r in fin]}")
    # The stream survived: it ended at the gate, with the file's length.
    ss = read_jsonl(det.journal, ("stop",))
    check(len(ss) == 1 and ss[0]["reason"] == "gate" and abs(ss[0]["t_s"] - 30) < 1e-9,
          f"stream end: {ss}")
    rt_guard_verify()


def sc_death():
    rec = synth("dd", 120, 1, 25)
    flags = model_flags(rec)
    port_log = free_port()
    log = start_log(port_log)
    play_name, det_name = client_names()
    play = start_play(rec, play_name, False)
    wait_for(lambda: run(["jack_lsp", play_name + ":gate"]).stdout.strip() != "", 10,
             "ictal-play's ports")
    det = start_detect(det_name, play_name, flags + ["--threshold-on", "0", "--threshold-off",
                                                     "0", "--min-duration", "0"],
                       [f"127.0.0.1:{port_log}"])
    time.sleep(6)  # an alarm is out (threshold 0), the event still open
    server = os.environ["JACK_DEFAULT_SERVER"]
    r = run(["pgrep", "-f", f"jackd.* -n {server} "])
    pids = [int(x) for x in r.stdout.split()]
    check(len(pids) == 1, f"jackd of {server}: pids {pids}")
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    rc = det.wait(30)
    check(rc == 1, f"ictal-detect exited {rc} when the server died, expected 1")
    err = det.stderr()
    check("JACK server has gone away" in err, "no clear message on server death: " + err[-500:])
    rc_play = play.wait(30)
    check(rc_play not in (0, None), f"ictal-play exited {rc_play} when the server died")
    time.sleep(0.3)
    log.stop()
    j = read_jsonl(det.journal, ("alarm", "final", "stop"))
    kinds = [r["kind"] for r in j]
    check("alarm" in kinds and "final" in kinds, f"journal after server death: {kinds}")
    fin = [r for r in j if r["kind"] == "final"]
    check(all("flushed" in r["flags"] for r in fin[-1:]), "the last final event is not flushed")
    check(kinds[-1:] == ["stop"] and j[-1]["reason"] == "shutdown", f"stop record: {j[-1:]}")
    got = read_jsonl(log.jsonl)
    check([r["kind"] for r in got] == [r["kind"] for r in j if r["kind"] != "stop"],
          "ictal-log did not receive the flushed events")
    # Without a server the guard has no close-time report from a killed
    # server's clients: ictal-detect still exits normally and writes it.
    d = os.path.join(TMP, "rt-guard")
    for f in os.listdir(d) if os.path.isdir(d) else []:
        if f.startswith("play-"):
            os.unlink(os.path.join(d, f))  # ictal-play's exit path is its own business here
    rt_guard_verify()
    # Tell the wrapper the server is gone on purpose.
    return


def sc_late():
    rec = synth("lt", 40, 1, 26)
    # Threshold 0: the whole file is one event, so its alarm is made in the
    # first second, while the logger is still absent, and its final at the end.
    flags = model_flags(rec) + ["--threshold-on", "0", "--threshold-off", "0",
                                "--min-duration", "0"]
    port = free_port()
    play_name, det_name = client_names()
    play = start_play(rec, play_name, False)
    wait_for(lambda: run(["jack_lsp", play_name + ":gate"]).stdout.strip() != "", 10,
             "ictal-play's ports")
    det = start_detect(det_name, play_name, flags, [f"osc.tcp://127.0.0.1:{port}/"])
    time.sleep(12)  # records pile up for the absent logger
    early = read_jsonl(det.journal)
    say(f"{len(early)} records before the logger started")
    log = start_log(port, tcp_only=True)
    rc = det.wait(120)
    check(rc == 0, f"ictal-detect exited {rc}: {det.stderr()[-2000:]}")
    play.wait(30)
    time.sleep(0.5)
    log.stop()
    ref = reference(rec, flags)
    check(len(early) > 0, "no record was made before the logger started: the test proves little")
    compare(ref, read_jsonl(log.jsonl), "ictal-log (started late, TCP)")
    compare(ref, read_jsonl(det.journal), "journal")
    s = summary(det)
    check(s["sender"]["tcp_connects"] >= 1 and s["sender"]["resent"] >= len(early),
          f"sender: {s['sender']}")
    rt_guard_verify()


def sc_barrage():
    rec = synth("bg", 600, 2, 27)
    flags = model_flags(rec)
    counts = {"sent": 0}

    def barrage(play, det):
        port = int(det.argv[det.argv.index("--osc") + 1].split(":")[1])
        rnd = random.Random(7)
        valid = b"/ictal/event\x00\x00\x00\x00,ss\x00" + b"a\x00\x00\x00" + b"b\x00\x00\x00"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(3000):
                kind = i % 4
                if kind == 0:
                    pkt = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 200)))
                elif kind == 1:
                    pkt = valid[:rnd.randint(1, len(valid))]
                elif kind == 2:
                    pkt = b"#bundle\x00" + bytes(8) + (100000).to_bytes(4, "big") + b"xx"
                else:
                    b = bytearray(valid)
                    b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
                    pkt = bytes(b)
                s.sendto(pkt, ("127.0.0.1", port))
                counts["sent"] += 1
                if i % 100 == 0:
                    time.sleep(0.01)

    log, dump, play, det, ref = replay(rec, True, flags, during=barrage, timeout=300)
    st = log_stats(log)
    say(f"barrage: {counts['sent']} bad packets; ictal-log counters: "
        + json.dumps({k: v for k, v in st.items() if not isinstance(v, dict)})[:400])
    rt_guard_verify()


def sc_errors():
    model = os.environ["ICTAL_MODEL"]

    def expect(argv, status, needle, env=None):
        e = dict(os.environ)
        if env:
            e.update(env)
        r = run([prog("detect"), *argv], env=e, timeout=60)
        lines = [x for x in r.stderr.splitlines() if x.strip()]
        check(r.returncode == status, f"{argv}: status {r.returncode}, expected {status}: "
                                      f"{r.stderr.strip()}")
        check(any(needle in x for x in lines), f"{argv}: no line with {needle!r}: {lines}")

    expect(["-m", model, "-c", "A"], 1, "cannot connect to JACK server",
           {"JACK_DEFAULT_SERVER": "no-such-server-%d" % os.getpid()})
    expect(["-m", "/nonexistent.safetensors", "-c", "A"], 1, "/nonexistent.safetensors")
    expect(["-m", model, "-c", "A", "--threshold-on", "2"], 2, "threshold_on")
    expect(["-m", model, "-c", "A", "--osc", "nohostport"], 2, "osc.targets")
    expect(["-m", model, "--bogus"], 2, "--bogus")
    expect(["-m", model], 2, "no channels")
    expect(["-m", model, "-c", "A", "--journal", "/nonexistent/dir/j.jsonl"], 1, "journal")
    expect(["-m", model, "-c", "A", "--connect", "no-such-client:.*"], 1, "no-such-client")
    many = ",".join("c%d" % i for i in range(300))
    expect(["-m", model, "-c", many], 2, "300 channel(s)")


SCENARIOS = {
    "realtime": sc_realtime, "freewheel": sc_freewheel, "resample": sc_resample,
    "bufsize": sc_bufsize, "xruns": sc_xruns, "death": sc_death, "late": sc_late, "barrage": sc_barrage,
    "errors": sc_errors,
}


def main():
    global TMP
    if len(sys.argv) != 2 or sys.argv[1] not in SCENARIOS:
        print(__doc__, file=sys.stderr)
        return 2
    name = sys.argv[1]
    TMP = os.path.join(TMP, name)
    os.makedirs(TMP, exist_ok=True)
    for f in os.listdir(TMP):
        p = os.path.join(TMP, f)
        if os.path.isfile(p):
            os.unlink(p)
    os.makedirs(os.path.join(TMP, "rt-guard"), exist_ok=True)
    for f in os.listdir(os.path.join(TMP, "rt-guard")):
        os.unlink(os.path.join(TMP, "rt-guard", f))
    random.seed(os.getpid())
    try:
        SCENARIOS[name]()
    except Exception as e:  # a harness error is a failure, with its story
        import traceback
        traceback.print_exc()
        fail(f"{name}: {e}")
    finally:
        Proc.cleanup()
    if failures:
        for p in Proc.live:
            print(f"--- {p.name} stderr (tail) ---\n{p.stderr()[-1500:]}", file=sys.stderr)
        print(f"{name}: {len(failures)} failure(s)", file=sys.stderr)
        return 1
    say(f"{name}: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
