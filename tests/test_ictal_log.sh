#!/usr/bin/env bash
# ictal-log end to end over real sockets on 127.0.0.1 (no JACK):
#   - usage and configuration errors exit 2, unusable outputs and a port in use exit 1,
#     each with one clear line; --print-config, --help;
#   - oscsend (liblo-tools) over UDP and TCP: every message kind on the console, in
#     JSON Lines and, for finals, in the stream's CSV_BI file; SIGTERM → exit 0 with
#     every file complete (a stream that never stopped gets the length of its status);
#   - ictal-run's records sent by a liblo sender in timetagged bundles (UDP and TCP)
#     come out of ictal-log with the very same fields, and the same CSV_BI rows;
#   - nested bundles (inner timetag), a future timetag (logged at once), "immediately";
#   - records resent after a TCP reconnect are written once and counted as duplicates;
#   - a malformed barrage over UDP and TCP: ictal-log stays up, logs a valid event sent
#     afterwards, and its counters are exactly what the sender predicts;
#   - a UDP flood into a stopped server: every datagram is received or counted as dropped;
#   - JSON Lines on stdout, SIGHUP reopening the file, colours on request, --verbose.
#   test_ictal_log.sh ICTAL-LOG SENDER ICTAL-RUN ICTAL-SYNTH MODEL
set -euo pipefail
log=$1
send=$2
run=$3
synth=$4
model=$5
tmp=${ICTAL_TEST_TMPDIR:?}
py=/usr/bin/python3
unset ICTAL_PROFILE
cd "$tmp"
rm -rf ./*
fail() { echo "FAIL: $*" >&2; exit 1; }

# Every ictal-log started here is killed when the script ends, however it ends.
pids=()
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

status() { local rc=0; "$@" >/dev/null 2>&1 || rc=$?; echo "$rc"; }

# start_log NAME ARGS...: ictal-log on a free port (PORT), as PID; ready once its stats
# file NAME.stats.json exists. A port some other program holds is tried again.
start_log() {
    local name=$1 try i
    shift
    for try in $(seq 1 30); do
        PORT=$(( 20000 + (RANDOM * 32768 + RANDOM + $$ * 7) % 40000 ))
        rm -f "$name.stats.json"
        "$log" -p "$PORT" --stats-json "$name.stats.json" "$@" >"$name.out" 2>"$name.err" &
        PID=$!
        for i in $(seq 1 400); do
            if [ -s "$name.stats.json" ]; then pids+=("$PID"); return 0; fi
            kill -0 "$PID" 2>/dev/null || break
            sleep 0.05
        done
        wait "$PID" 2>/dev/null || true
        grep -q "in use" "$name.err" || fail "$name: ictal-log did not start: $(cat "$name.err")"
    done
    fail "$name: no free port"
}

# stop_log NAME: SIGTERM, exit status 0 expected, stats file final.
stop_log() {
    local rc=0
    kill -TERM "$PID"
    wait "$PID" || rc=$?
    [ "$rc" -eq 0 ] || fail "$1: exit status $rc after SIGTERM: $(cat "$1.err")"
    $py -c 'import json,sys; assert json.load(open(sys.argv[1]))["final"]' "$1.stats.json" \
        || fail "$1: stats file not final"
}

# wait_stats NAME PYTHON-EXPR: ask for fresh counters (SIGUSR1) until EXPR, over the
# stats object s and its counters c, holds (60 s at most).
wait_stats() {
    local i
    for i in $(seq 1 600); do
        kill -USR1 "$PID"
        sleep 0.1
        if $py -c 'import json,sys
s = json.load(open(sys.argv[1])); c = s["counters"]
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1.stats.json" "$2" 2>/dev/null; then
            return 0
        fi
        kill -0 "$PID" 2>/dev/null || fail "$1: ictal-log died: $(cat "$1.err")"
    done
    fail "$1: counters never reached: $2: $(cat "$1.stats.json")"
}

ev_args() { # SOURCE STREAM ID SEGMENT CONF: an /ictal/event's arguments for oscsend
    echo "$1 $2 $3 $4 87 540 645 2784 17280 20609 10.875 67.5 80.5 56.625 $5 mean 0 0.73 FP1-F7,F7-T7"
}
EV=ssiihhhhhhddddfsffss

# ---- usage, configuration and start-up errors --------------------------------------------

[ "$(status "$log" --help)" = 0 ] || fail "--help"
"$log" --print-config >pc.txt || fail "--print-config exit"
grep -q '^\[logger\]' pc.txt && grep -q '^transports = udp, tcp' pc.txt && grep -q '^\[osc\]' pc.txt \
    || fail "--print-config lacks [logger]/[osc]: $(cat pc.txt)"
"$log" -p 9 --print-config | grep -q '^port = 9 .*option --port' || fail "-p is not osc.port"
"$log" -o console -o jsonl --print-config | grep -q '^outputs = console, jsonl ' \
    || fail "repeated -o is not one list"
for bad in "--bogus" "--set logger.outputs=jsnl" "-p 0" "-p" "extra-operand" \
           "-o csv_bi --csv-bi events.csv" "--udp-only --set logger.transports="; do
    rc=0
    # shellcheck disable=SC2086
    "$log" $bad >/dev/null 2>err.txt || rc=$?
    [ "$rc" = 2 ] || fail "'$bad': exit $rc, expected 2"
    [ -s err.txt ] && grep -q '^ictal-log: ' err.txt || fail "'$bad': no message"
done
"$log" -o csv_bi --csv-bi events.csv 2>err.txt || true
grep -q 'no {stream}' err.txt || fail "csv_path without {stream}: $(cat err.txt)"
rc=0; "$log" -o jsonl --jsonl no-such-dir/x.jsonl 2>err.txt || rc=$?
[ "$rc" = 1 ] && [ "$(wc -l <err.txt)" = 1 ] && grep -q 'no-such-dir/x.jsonl: cannot open' err.txt \
    || fail "unwritable JSON Lines file: exit $rc: $(cat err.txt)"
rc=0; "$log" -o csv_bi --csv-bi 'no-such-dir/{stream}.csv_bi' 2>err.txt || rc=$?
[ "$rc" = 1 ] && grep -q 'cannot write CSV_BI files into no-such-dir' err.txt \
    || fail "unwritable CSV_BI directory: exit $rc: $(cat err.txt)"

# ---- oscsend, every kind, UDP and TCP; a port in use --------------------------------------

start_log basic -o console,jsonl,csv_bi --jsonl basic.jsonl --csv-bi 'basic-{source}-{stream}.csv_bi' \
    --telemetry status
P=$PORT
# a second server on the same port: exit 1, one line naming it
rc=0; "$log" -p "$P" 2>err.txt || rc=$?
[ "$rc" = 1 ] && [ "$(wc -l <err.txt)" = 1 ] && grep -q "port $P: Address already in use" err.txt \
    || fail "port in use: exit $rc: $(cat err.txt)"

S=det-1; T=0000000a.1
oscsend localhost "$P" /ictal/start ssisdddsd $S $T 1 model-x 256 256 8 "FP1-F7,F7-T7" 3.5
# shellcheck disable=SC2046
oscsend localhost "$P" /ictal/alarm $EV $(ev_args $S $T 1 0 0.65) ""
oscsend localhost "$P" /ictal/xrun ssifhdh $S $T 1 1500.5 3000 11.71875 64
oscsend localhost "$P" /ictal/quality ssissshdi $S $T 2 T7-P7 "flat|clipped" "" 4000 15.625 1
# shellcheck disable=SC2046
oscsend osc.tcp://localhost:"$P" /ictal/event $EV $(ev_args $S $T 1 1 0.65) "xrun|flushed"
wait_stats basic 'c["by_address"]["event"] == 1' # UDP and TCP are not ordered with each other
oscsend localhost "$P" /ictal/annotation ssdds ictal-play rec.edf 12.5 -1 "seizure onset"
oscsend localhost "$P" /ictal/status ssisihhdifffffffhhiiids $S $T 1 running 2 800 25600 100 1 \
    5 7 10 20 30 40 50 0 3 0 1 64 256 model-x
oscsend localhost "$P" /ictal/stop sshds $S $T 2400 300 signal
# a second stream that never stops: its CSV_BI gets the length of its last status
T2=0000000a.2
# shellcheck disable=SC2046
oscsend localhost "$P" /ictal/event $EV $(ev_args $S $T2 1 1 0.5) ""
oscsend localhost "$P" /ictal/status ssisihhdifffffffhhiiids $S $T2 1 running 2 800 25600 420.5 1 \
    5 7 10 20 30 40 50 0 3 0 1 64 256 model-x
wait_stats basic 'c["packets"] == 10 and c["written"] == 10'
stop_log basic

for k in START ALARM XRUN QUALITY FINAL ANNOT STATUS STOP; do
    grep -q "  $k " basic.out || fail "console has no $k line: $(cat basic.out)"
done
grep -q "det-1 0000000a.1  ALARM  #1      onset 00:00:10.875 (10.875 s)  conf 0.650 (mean so far)" basic.out \
    || fail "ALARM line: $(grep ALARM basic.out)"
grep -q "FINAL  #1      00:00:10.875-00:01:07.500 (10.875-67.500 s, 56.625 s)  conf 0.650 (mean)  peak 0.730  ch FP1-F7,F7-T7  at 00:01:20.500  \[flushed, xrun\]" basic.out \
    || fail "FINAL line: $(grep FINAL basic.out)"
if grep -q $'\033' basic.out; then fail "colour codes although stdout is no terminal"; fi
$py - basic.jsonl basic-det-1-0000000a.1.csv_bi basic-det-1-0000000a.2.csv_bi <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
kinds = [r["kind"] for r in recs]
assert kinds == ["start", "alarm", "xrun", "quality", "final", "annotation", "status", "stop",
                 "final", "status"], kinds
for r in recs:
    assert r["timetag_unix"] is None and r["received_unix"] > 1e9, r
    assert r["source"] in ("det-1", "ictal-play"), r
st, al, xr, q, fi, an, stt, sp = recs[:8]
assert st["stream"] == "0000000a.1" and st["model"] == "model-x" and st["channels"] == ["FP1-F7", "F7-T7"]
assert st["latency_s"] == 3.5 and st["version"] == 1
assert al["kind"] == "alarm" and al["segment"] == 0 and al["confidence"] == 0.65 and al["peak"] == 0.73
assert al["channels"] == ["FP1-F7", "F7-T7"] and al["flags"] == [] and al["duration_s"] == 56.625
assert "file" not in al
assert xr["count"] == 1 and xr["delayed_us"] == 1500.5 and xr["lost_samples"] == 64
assert q["label"] == "T7-P7" and q["flags"] == ["flat", "clipped"] and q["previous"] == []
assert fi["flags"] == ["flushed", "xrun"] and fi["segment"] == 1
assert an["file"] == "rec.edf" and an["duration_s"] is None and an["text"] == "seizure onset"
assert "stream" not in an
assert stt["state"] == "running" and stt["t_s"] == 100 and stt["alarm"] is False
assert sp["reason"] == "signal" and sp["frames"] == 2400
for path, dur in ((sys.argv[2], "300.0000"), (sys.argv[3], "420.5000")):
    lines = open(path).read().splitlines()
    bname = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    assert lines[:5] == ["# version = csv_v1.0.0", "# bname = " + bname,
                         "# duration = %s secs" % dur, "#",
                         "channel,start_time,stop_time,label,confidence"], lines
    assert len(lines) == 6 and lines[5].startswith("TERM,10.8750,67.5000,seiz,"), lines
PY
grep -q 'stopped: 10 packet(s)' basic.err || fail "no counters at exit: $(cat basic.err)"
ls ./*.tmp 2>/dev/null && fail "temporary files left behind"

# ---- ictal-run's records through ictal-log: the same fields ----------------------------------

"$synth" --duration 300 --montage chbmit --seizures 1 --seed 11 -q -o rec.edf
"$run" -m "$model" --threshold-on 0.68 --threshold-off 0.64 --min-duration 10s \
    --max-duration 60s -f json,csv_bi -o runA rec.edf 2>/dev/null
"$run" -m "$model" --threshold-on 0.68 --threshold-off 0.64 --min-duration 10s \
    --confidence percentile --percentile 90 -f json,csv_bi -o runB rec.edf 2>/dev/null
start_log replay -o jsonl,csv_bi --jsonl replay.jsonl --csv-bi 'replay-{stream}.csv_bi'
"$send" replay udp "$PORT" ictal-detect 00000001.1 runA.jsonl 300 >/dev/null
"$send" replay tcp "$PORT" ictal-detect 00000001.2 runB.jsonl 300 >/dev/null
nA=$(wc -l <runA.jsonl); nB=$(wc -l <runB.jsonl)
wait_stats replay "c['written'] == $nA + $nB + 4"
stop_log replay
$py - runA.jsonl runB.jsonl replay.jsonl runA.csv_bi runB.csv_bi <<'PY'
import json, sys
fields = ["kind", "id", "segment", "start_frame", "end_frame", "emit_frame", "start_sample",
          "end_sample", "emit_sample", "start_s", "end_s", "emit_s", "duration_s", "confidence",
          "method", "percentile", "peak", "channels", "flags"]
got = [json.loads(l) for l in open(sys.argv[3])]
for i, stream in ((1, "00000001.1"), (2, "00000001.2")):
    want = [json.loads(l) for l in open(sys.argv[i])]
    have = [r for r in got if r["stream"] == stream and r["kind"] in ("alarm", "cancel", "final")]
    assert len(want) == len(have) > 3, (stream, len(want), len(have))
    kinds = {r["kind"] for r in want}
    assert {"alarm", "final"} <= kinds, kinds
    for w, h in zip(want, have):
        for f in fields:
            assert w[f] == h[f], (stream, f, w[f], h[f])
        assert h["source"] == "ictal-detect" and h["timetag_unix"] is not None
        assert abs(h["received_unix"] - h["timetag_unix"]) < 60, h
        assert list(h)[:3] == ["source", "stream", "kind"], list(h)
    if i == 2:
        assert all(r["method"] == "percentile" and r["percentile"] == 90 for r in have)
    run_csv = open(sys.argv[3 + i]).read().splitlines()
    log_csv = open("replay-%s.csv_bi" % stream).read().splitlines()
    assert log_csv[1] == "# bname = replay-" + stream, log_csv[1]
    assert run_csv[:1] + run_csv[2:] == log_csv[:1] + log_csv[2:], (run_csv, log_csv)
assert sum(1 for r in got if r["kind"] in ("start", "stop")) == 4
PY

# ---- bundles: nested, future and "immediately" timetags; resent records over TCP -----------

start_log bundles -o jsonl --jsonl bundles.jsonl
"$send" nested "$PORT" >nested.json
wait_stats bundles 'c["by_address"]["cancel"] == 1 and c["by_address"]["alarm"] == 1'
# logged at once although its timetag is an hour ahead (ictal-log still runs)
grep -q '"kind":"alarm"' bundles.jsonl || fail "future-timetagged alarm held back"
"$send" resend "$PORT" tcp-det 0000000e.1
wait_stats bundles 'c["by_address"]["stop"] == 1'
# datagrams near the UDP limit: a 5000-channel list (1024 kept), a 56 kB bundle
"$send" big "$PORT" >big.json
wait_stats bundles 'c["by_address"]["event"] == 1 + 3 + 10' # nested, resend (a duplicate), big
stop_log bundles
$py - bundles.jsonl nested.json bundles.stats.json <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
sent = json.load(open(sys.argv[2]))
nest = [r for r in recs if r["source"] == "nest"]
assert [r["kind"] for r in nest] == ["final", "alarm", "cancel"], nest
assert abs(nest[0]["timetag_unix"] - sent["inner"]) < 1e-3, (nest[0], sent)
assert abs(nest[1]["timetag_unix"] - sent["future"]) < 1e-3, (nest[1], sent)
assert nest[1]["timetag_unix"] - nest[1]["received_unix"] > 3000
assert nest[2]["timetag_unix"] is None
tcp = [(r["kind"], r.get("id"), r.get("segment")) for r in recs if r["source"] == "tcp-det"]
assert tcp == [("start", None, None), ("alarm", 1, 0), ("final", 1, 1), ("alarm", 2, 0),
               ("final", 2, 1), ("stop", None, None)], tcp
c = json.load(open(sys.argv[3]))["counters"]
assert c["duplicates"] == 3 and c["tcp_connections"] == 2 and c["bundles"] == 4 + 7 + 1, c
assert c["malformed"] == c["invalid"] == c["tcp_truncated"] == 0, c
assert c["by_address"]["status"] == 1, c
big = [r for r in recs if r["source"] == "big"]
assert [r["id"] for r in big] == list(range(1, 11)), [r["id"] for r in big]
assert len(big[0]["channels"]) == 1024 and big[0]["channels"][1023] == "C1023", big[0]["channels"][-1]
assert all(len(r["channels"]) == 1000 for r in big[1:])
sizes = json.load(open("big.json"))
assert sizes["first"] > 30000 and sizes["bundle"] > 50000, sizes
PY

# ---- a malformed barrage; a valid event afterwards; exact counters ---------------------------

start_log barrage -o jsonl --jsonl barrage.jsonl --max-message-bytes 16384 \
    --set logger.tcp_timeout=0.5
"$send" barrage "$PORT" 0xBADC0FFEE 16384 0.5 >expected.json
kill -0 "$PID" || fail "ictal-log died in the barrage: $(tail -5 barrage.err)"
# shellcheck disable=SC2046
oscsend localhost "$PORT" /ictal/event $EV $(ev_args after 0000000f.1 9 1 0.9) ""
want=$($py -c 'import json; print(json.load(open("expected.json"))["packets"] + 1)')
wait_stats barrage "c['packets'] == $want and c['tcp_truncated'] == 4"
stop_log barrage
$py - expected.json barrage.stats.json barrage.jsonl barrage.err <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
c = json.load(open(sys.argv[2]))["counters"]
e["packets"] += 1; e["messages"] += 1; e["by_address"]["event"] += 1
for k, v in e.items():
    assert c[k] == v, (k, "ictal-log", c[k], "expected", v)
assert c["udp_kernel_drops"] == 0 and c["write_errors"] == 0, c
last = json.loads(open(sys.argv[3]).read().splitlines()[-1])
assert last["source"] == "after" and last["id"] == 9 and last["confidence"] == 0.9, last
err = open(sys.argv[4]).read().splitlines()
bad = [l for l in err if " (udp): " in l or " (tcp): " in l]
# rate-limited: the first ten, then one per 10 s
assert 10 <= len(bad) <= 14, len(bad)
assert any("malformed packet" in l or "malformed message" in l for l in bad), bad
PY

# ---- a flood ---------------------------------------------------------------------------------

# ictal-log is stopped (SIGSTOP) while 30000 datagrams arrive: the socket buffer overflows,
# and what the kernel dropped is counted, so received + dropped is all that was sent.
start_log flood -o jsonl --jsonl flood.jsonl --set logger.max_connections=4
kill -STOP "$PID"
"$send" flood "$PORT" 30000
kill -CONT "$PID"
wait_stats flood 'c["packets"] + c["udp_kernel_drops"] == 30000'
# six connections held open where four are allowed: two are closed at once
$py - "$PORT" <<'PY' &
import os, socket, sys, time
conns = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(6)]
for _ in range(600):  # until the test has seen them (60 s at most)
    if os.path.exists("release"):
        break
    time.sleep(0.1)
PY
holder=$!
wait_stats flood 'c["tcp_connections"] == 4 and c["tcp_refused"] == 2 and s["tcp_open"] == 4'
touch release
wait "$holder"
stop_log flood
$py -c 'import json; c = json.load(open("flood.stats.json"))["counters"]
print("flood: %d received, %d dropped by the kernel" % (c["packets"], c["udp_kernel_drops"]))
assert c["by_address"]["prob"] == c["packets"] > 0 and c["written"] == 0
assert c["udp_kernel_drops"] > 0'
grep -q 'the kernel dropped [0-9]* UDP datagram' flood.err || fail "drops not reported: $(cat flood.err)"
[ ! -s flood.jsonl ] || fail "prob messages logged although telemetry is off"

# ---- JSON Lines on stdout, SIGHUP reopens the file, colours --------------------------------

start_log stdout -o jsonl --jsonl -
# shellcheck disable=SC2046
oscsend localhost "$PORT" /ictal/alarm $EV $(ev_args s 00000002.1 1 0 0.5) ""
wait_stats stdout 'c["written"] == 1'
stop_log stdout
grep -q '^{"source":"s","stream":"00000002.1","kind":"alarm"' stdout.out || fail "no JSON on stdout"

start_log hup -o console,jsonl --jsonl hup.jsonl --set log.color=always
# shellcheck disable=SC2046
oscsend localhost "$PORT" /ictal/alarm $EV $(ev_args s 00000003.1 1 0 0.5) ""
wait_stats hup 'c["written"] == 1'
mv hup.jsonl hup.jsonl.1
kill -HUP "$PID"
sleep 0.3
# shellcheck disable=SC2046
oscsend localhost "$PORT" /ictal/cancel $EV $(ev_args s 00000003.1 1 0 0.5) ""
wait_stats hup 'c["written"] == 2'
stop_log hup
grep -q '"kind":"alarm"' hup.jsonl.1 && grep -q '"kind":"cancel"' hup.jsonl || fail "SIGHUP did not reopen"
grep -q $'\033\\[1;31mALARM' hup.out && grep -q $'\033\\[2mCANCEL' hup.out || fail "no colours: $(cat -v hup.out)"

# --verbose: heartbeats on the console, counters every --stats-interval
start_log verbose -v --stats-interval 1
oscsend localhost "$PORT" /ictal/status ssisihhdifffffffhhiiids d "" 1 waiting 2 0 0 0 0 \
    0 0 0 0 0 0 0 0 0 0 2 64 256 m
wait_stats verbose 'c["by_address"]["status"] == 1'
sleep 1.5
stop_log verbose
grep -q '  STATUS waiting  t 00:00:00.000  frames 0' verbose.out || fail "no STATUS line: $(cat verbose.out)"
grep -q 'ictal-log: so far: 1 packet(s)' verbose.err || fail "no periodic counters: $(cat verbose.err)"

echo "ictal-log: all end-to-end checks passed"
