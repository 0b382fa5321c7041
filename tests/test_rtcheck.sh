#!/bin/sh
# ictal-rtcheck on fake /proc and /sys trees (--root): a PREEMPT_RT machine
# set up as rt-config/ says passes; each departure (PREEMPT_DYNAMIC kernel,
# missing cpufreq, swap, low limits, no audio group, jackd without real-time,
# ...) gets the right verdict; malformed files and arguments give a clear
# result, never a crash; and one run on the real machine.
set -u
RC=${1:?usage: test_rtcheck.sh PATH/TO/ictal-rtcheck}
T=${ICTAL_TEST_TMPDIR:-/tmp}/trees
PY=/usr/bin/python3
rm -rf "$T"
mkdir -p "$T"
unset JACK_DEFAULT_SERVER NO_COLOR
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# statline PID COMM RT_PRIORITY POLICY: a /proc/PID/stat line (52 fields;
# field 40 rt_priority, 41 policy).
statline() {
    printf '%s (%s) S' "$1" "$2"
    i=4
    while [ $i -le 52 ]; do
        case $i in
        40) printf ' %s' "$3" ;;
        41) printf ' %s' "$4" ;;
        *) printf ' 0' ;;
        esac
        i=$((i + 1))
    done
    printf '\n'
}
# proc PID COMM CMDLINE(with | between args) THREAD:PRIO:POLICY...
proc() {
    d=$R/proc/$1
    mkdir -p "$d/task"
    echo "$2" >"$d/comm"
    printf '%s\000' $(echo "$3" | tr '|' ' ') >"$d/cmdline"
    statline "$1" "$2" 0 0 >"$d/stat"
    printf 'Name:\t%s\nVmLck:\t  204800 kB\n' "$2" >"$d/status"
    pid=$1 comm=$2
    shift 3
    for t in "$@"; do
        tid=${t%%:*} rest=${t#*:}
        mkdir -p "$d/task/$tid"
        statline "$tid" "$comm" "${rest%%:*}" "${rest#*:}" >"$d/task/$tid/stat"
    done
}
limits() { # RTPRIO_SOFT RTPRIO_HARD MEMLOCK_SOFT MEMLOCK_HARD
    {
        echo "Limit                     Soft Limit           Hard Limit           Units     "
        echo "Max cpu time              unlimited            unlimited            seconds   "
        echo "Max locked memory         $3            $4            bytes     "
        echo "Max realtime priority     $1                   $2                   "
        echo "Max realtime timeout      unlimited            unlimited            us        "
    } >"$R/proc/self/limits"
}

# A PREEMPT_RT machine set up as rt-config/ says.
mktree() {
    R=$T/$1
    rm -rf "$R"
    mkdir -p "$R/proc/self" "$R/proc/sys/kernel" "$R/proc/sys/vm" "$R/sys/kernel/mm/transparent_hugepage" \
        "$R/sys/devices/system/clocksource/clocksource0" "$R/etc" "$R/boot"
    echo "BOOT_IMAGE=/vmlinuz-6.1.0-17-rt-amd64 root=/dev/sda1 ro quiet threadirqs" >"$R/proc/cmdline"
    echo 1 >"$R/sys/kernel/realtime"
    echo "#1 SMP PREEMPT_RT Debian 6.1.69-1 (2023-12-30)" >"$R/proc/sys/kernel/version"
    echo "6.1.0-17-rt-amd64" >"$R/proc/sys/kernel/osrelease"
    limits 95 95 unlimited unlimited
    printf 'Name:\tictal-rtcheck\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nGroups:\t29 1000 \nCapEff:\t0000000000000000\n' \
        >"$R/proc/self/status"
    printf 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n' >"$R/etc/passwd"
    printf 'root:x:0:\naudio:x:29:alice\nalice:x:1000:\n' >"$R/etc/group"
    echo 950000 >"$R/proc/sys/kernel/sched_rt_runtime_us"
    echo 1000000 >"$R/proc/sys/kernel/sched_rt_period_us"
    for cpu in 0 1 2 3; do
        mkdir -p "$R/sys/devices/system/cpu/cpu$cpu/cpufreq"
        echo performance >"$R/sys/devices/system/cpu/cpu$cpu/cpufreq/scaling_governor"
    done
    mkdir -p "$R/sys/devices/system/cpu/cpufreq" # not a cpuN directory
    echo "Filename				Type		Size		Used		Priority" >"$R/proc/swaps"
    echo 60 >"$R/proc/sys/vm/swappiness"
    proc 1234 jackd "jackd|-R|-P|70|-n|eeg|-d|dummy|-r|256|-p|64" 1234:0:0 1236:70:1 1237:0:0
    proc 2000 ictal-detect "ictal-detect|--config|/etc/ictal/ictal.conf" 2000:0:0 2003:65:1
    proc 50 "irq/50-xhci_hcd" "" 50:50:1
    echo tsc >"$R/sys/devices/system/clocksource/clocksource0/current_clocksource"
    echo "tsc hpet acpi_pm" >"$R/sys/devices/system/clocksource/clocksource0/available_clocksource"
    echo "always [madvise] never" >"$R/sys/kernel/mm/transparent_hugepage/enabled"
}

# run TREE [options]: JSON in $J (flattened into $J.tab: "id<TAB>field<TAB>text"
# lines, one Python start per run), exit status in $rc.
run() {
    tree=$1
    shift
    J=$T/$tree.json
    "$RC" --root "$T/$tree" --json "$@" >"$J" 2>"$T/$tree.err"
    rc=$?
    $PY -c 'import json,sys
for c in json.load(open(sys.argv[1]))["checks"]:
    for f in ("status", "value", "advice"):
        print(c["id"], f, c[f].replace("\n", " "), sep="\t")' "$J" >"$J.tab" 2>&1 ||
        fail "$tree: the JSON output does not parse: $(cat "$J")"
}
# st ID: the status of check ID in $J; val ID: its value; adv ID: its advice.
field() { awk -F '\t' -v id="$1" -v f="$2" '$1 == id && $2 == f { print $3 }' "$J.tab"; }
st() { field "$1" status; }
val() { field "$1" value; }
adv() { field "$1" advice; }
expect_st() { # TREE ID STATUS [VALUE-PATTERN]
    s=$(st "$2")
    [ "$s" = "$3" ] || fail "$1: $2 is '$s', expected $3 (value: $(val "$2"))"
    if [ $# -ge 4 ]; then
        val "$2" | grep -q -- "$4" || fail "$1: $2 value '$(val "$2")' lacks '$4'"
    fi
}
expect_rc() { [ "$rc" = "$2" ] || fail "$1: exit status $rc, expected $2 ($(cat "$T/$1.err" 2>/dev/null))"; }

# ---- the good machine ----------------------------------------------------------
mktree good
run good
expect_rc good 0
$PY -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["tool"] == "ictal-rtcheck" and r["summary"] == {"ok": 13, "warn": 0, "fail": 0} and r["exit_status"] == 0, r["summary"]' "$J" ||
    fail "good: summary is not 13 OK: $(cat "$J")"
expect_st good kernel OK "PREEMPT_RT"
expect_st good rtprio OK "RLIMIT_RTPRIO 95 (hard 95)"
expect_st good memlock OK "unlimited"
expect_st good audio_group OK "alice is in audio (gid 29)"
expect_st good rt_throttling OK "950000 of every 1000000 us"
expect_st good cpu_governor OK "performance on 4 of 4 CPUs"
expect_st good irq_threads OK "forced (PREEMPT_RT), 1 irq/ thread"
expect_st good swap OK "off"
expect_st good jackd OK "'eeg' (pid 1234): 1 SCHED_FIFO thread, priority 70, -d dummy -r 256 -p 64"
expect_st good ictal_detect OK "pid 2000: real-time process thread, 200 MiB locked"
expect_st good cpu_isolation OK "none"
expect_st good clocksource OK "tsc"
expect_st good transparent_hugepages OK "madvise"
# Text output: one line per check, a summary, no colour when not a terminal.
"$RC" --root "$T/good" >"$T/good.txt" 2>&1 || fail "good (text): status $?"
grep -q "^  OK    kernel preemption        PREEMPT_RT" "$T/good.txt" || fail "good (text): $(cat "$T/good.txt")"
grep -q "^13 OK, 0 WARN, 0 FAIL: ready$" "$T/good.txt" || fail "good (text): no summary line"
grep -q "$(printf '\033')" "$T/good.txt" && fail "good (text): colour codes without a terminal"
"$RC" --root "$T/good" --set log.color=always >"$T/good-color.txt" 2>&1
grep -q "$(printf '\033')\[32mOK" "$T/good-color.txt" || fail "log.color=always gave no colour"
"$RC" --root "$T/good" -v | grep -q -- "-> A real-time kernel" || fail "--verbose shows no advice for OK checks"
"$RC" --root "$T/good" | grep -q -- "-> A real-time kernel" && fail "advice for OK checks without --verbose"

# ---- kernels -----------------------------------------------------------------------
mktree dyn
rm "$R/sys/kernel/realtime"
echo "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)" >"$R/proc/sys/kernel/version"
echo "6.1.0-18-amd64" >"$R/proc/sys/kernel/osrelease"
run dyn
expect_rc dyn 0
expect_st dyn kernel WARN "PREEMPT_DYNAMIC, mode voluntary (no preempt= parameter"
adv kernel | grep -q "preempt=full" || fail "dyn: the advice does not mention preempt=full"
expect_st dyn irq_threads OK "threadirqs"
printf 'CONFIG_X=y\nCONFIG_PREEMPT_VOLUNTARY=y\nCONFIG_PREEMPT_DYNAMIC=y\n' >"$R/boot/config-6.1.0-18-amd64"
run dyn
expect_st dyn kernel WARN "mode voluntary (the build's default)"
echo "BOOT_IMAGE=/vmlinuz ro preempt=full threadirqs" >"$R/proc/cmdline"
run dyn
expect_st dyn kernel WARN "mode full (preempt=full on the command line)"
adv kernel | grep -q "fine for EEG periods" || fail "dyn full: advice '$(adv kernel)'"
mkdir -p "$R/sys/kernel/debug/sched"
echo "none voluntary full (lazy)" >"$R/sys/kernel/debug/sched/preempt"
run dyn
expect_st dyn kernel WARN "mode lazy (current, from sched/preempt)"
# PREEMPT_RT known from the kernel's config only.
mktree rtcfg
rm "$R/sys/kernel/realtime"
echo "#1 SMP Debian 6.1.69-1" >"$R/proc/sys/kernel/version"
printf 'CONFIG_PREEMPT_RT=y\n' >"$R/boot/config-6.1.0-17-rt-amd64"
printf '# comment\nCONFIG_PREEMPT_RT=y\n' >"$R/boot/config-6.1.0-17-rt-amd64"
run rtcfg
expect_st rtcfg kernel OK "PREEMPT_RT"
expect_st rtcfg irq_threads OK "threadirqs"
# A plain voluntary kernel; threadirqs after " -- " belongs to init, not the kernel.
mktree vol
rm "$R/sys/kernel/realtime"
echo "#1 SMP Debian 5.10.209-2 (2024-01-31)" >"$R/proc/sys/kernel/version"
echo "BOOT_IMAGE=/vmlinuz ro quiet -- threadirqs" >"$R/proc/cmdline"
run vol
expect_st vol kernel WARN "voluntary preemption"
expect_st vol irq_threads WARN "not threaded"
echo "#2 SMP PREEMPT Fri Jan 5 2024" >"$R/proc/sys/kernel/version"
run vol
expect_st vol kernel WARN "PREEMPT (full preemption)"

# ---- CPU, swap, memory, clock --------------------------------------------------------
mktree nofreq
rm -r "$R"/sys/devices/system/cpu/cpu*/cpufreq
run nofreq
expect_st nofreq cpu_governor OK "no cpufreq on 4 CPUs"
mktree mixed
echo powersave >"$R/sys/devices/system/cpu/cpu1/cpufreq/scaling_governor"
echo schedutil >"$R/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor"
run mixed
expect_rc mixed 0
expect_st mixed cpu_governor WARN "performance on 2, powersave on 1, schedutil on 1 of 4 CPUs"
adv cpu_governor | grep -q "cpupower frequency-set -g performance" || fail "mixed: governor advice"
mktree swap
printf '/dev/sda2                               partition\t8388604\t\t0\t\t-2\n' >>"$R/proc/swaps"
run swap
expect_st swap swap WARN "on: 1 device, 8.0 GiB, swappiness 60"
adv swap | grep -q "vm.swappiness=10" || fail "swap: advice '$(adv swap)'"
echo 10 >"$R/proc/sys/vm/swappiness"
run swap
expect_st swap swap OK "swappiness 10"
mktree misc
echo hpet >"$R/sys/devices/system/clocksource/clocksource0/current_clocksource"
echo "[always] madvise never" >"$R/sys/kernel/mm/transparent_hugepage/enabled"
echo "BOOT_IMAGE=/vmlinuz ro threadirqs isolcpus=3 nohz_full=3 rcu_nocbs=3" >"$R/proc/cmdline"
echo 3 >"$R/sys/devices/system/cpu/isolated"
echo -1 >"$R/proc/sys/kernel/sched_rt_runtime_us"
run misc
expect_rc misc 0
expect_st misc clocksource WARN "hpet"
expect_st misc transparent_hugepages WARN "always"
expect_st misc cpu_isolation OK "isolated CPUs 3, nohz_full 3, rcu_nocbs 3"
expect_st misc rt_throttling OK "off"
echo 0 >"$R/proc/sys/kernel/sched_rt_runtime_us"
run misc
expect_rc misc 1
expect_st misc rt_throttling FAIL "never run"
echo 500000 >"$R/proc/sys/kernel/sched_rt_runtime_us"
run misc
expect_st misc rt_throttling WARN "50 %"

# ---- limits and groups ------------------------------------------------------------------
mktree limits
limits 0 0 8388608 8388608
run limits
expect_rc limits 1
expect_st limits rtprio FAIL "RLIMIT_RTPRIO 0 (hard 0)"
adv rtprio | grep -q "99-ictal-realtime.conf" || fail "limits: rtprio advice"
expect_st limits memlock WARN "8 MiB (hard 8 MiB)"
# root-like: the capabilities lift both limits (CAP_SYS_NICE bit 23, CAP_IPC_LOCK bit 14)
sed -i 's/^CapEff:.*/CapEff:\t0000000000804000/' "$R/proc/self/status"
run limits
expect_rc limits 0
expect_st limits rtprio OK "CAP_SYS_NICE"
expect_st limits memlock OK "CAP_IPC_LOCK"
limits 50 95 unlimited unlimited
sed -i 's/^CapEff:.*/CapEff:\t0000000000000000/' "$R/proc/self/status"
run limits
expect_st limits rtprio WARN "RLIMIT_RTPRIO 50 (hard 95)"
adv rtprio | grep -q "ulimit -r 95" || fail "limits: soft below hard advice '$(adv rtprio)'"
mktree groups
printf 'root:x:0:\naudio:x:29:bob\n' >"$R/etc/group"
sed -i 's/^Groups:.*/Groups:\t1000/' "$R/proc/self/status"
run groups
expect_st groups audio_group WARN "alice is not in audio (gid 29)"
adv audio_group | grep -q "usermod -aG audio alice" || fail "groups: advice '$(adv audio_group)'"
printf 'audio:x:29:bob,alice\n' >"$R/etc/group"
run groups
expect_st groups audio_group WARN "listed in audio (gid 29) but this session is not"
printf 'wheel:x:10:alice\n' >"$R/etc/group"
run groups
expect_st groups audio_group WARN "no audio group"

# ---- jackd and ictal-detect ------------------------------------------------------------
mktree jack
rm -r "$R/proc/1234"
proc 1300 jackd "jackd|-r|-n|test|-d|dummy|-r|256" 1300:0:0 1301:0:0
run jack
expect_rc jack 1
expect_st jack jackd FAIL "'test' (pid 1300): no real-time thread (started with --no-realtime)"
run jack --server eeg
expect_st jack jackd WARN "no jackd named 'eeg' running (others: test)"
adv jackd | grep -q "systemctl start jackd-eeg@dummy" || fail "jack: advice '$(adv jackd)'"
rm -r "$R/proc/1300"
# -r after -d is the sample rate, not --no-realtime; no -n: the server "default".
proc 1400 jackd "/usr/bin/jackd|-d|alsa|-r|48000|-p|128" 1400:0:0 1401:10:1 1402:9:1
run jack
expect_st jack jackd OK "'default' (pid 1400): 2 SCHED_FIFO threads, priority 10, -d alsa -r 48000 -p 128"
run jack --server default
expect_st jack jackd OK "'default'"
# Real-time asked for (-R) but not granted.
rm -r "$R/proc/1400"
proc 1500 jackd "jackd|-R|-P|70|--name=eeg|-ddummy" 1500:0:0
run jack
expect_st jack jackd FAIL "'eeg' (pid 1500): no real-time thread"
adv jackd | grep -q "Cannot use real-time scheduling" || fail "jack: denied advice '$(adv jackd)'"
expect_st jack ictal_detect OK "real-time process thread"
# ictal-detect: no real-time thread, then memory not locked
rm -r "$R/proc/2000"
proc 2100 ictal-detect "ictal-detect" 2100:0:0 2101:0:0
run jack
expect_st jack ictal_detect FAIL "no real-time thread"
rm -r "$R/proc/2100"
proc 2200 ictal-detect "ictal-detect" 2200:0:0 2201:65:1
printf 'Name:\tictal-detect\nVmLck:\t       0 kB\n' >"$R/proc/2200/status"
run jack
expect_st jack ictal_detect WARN "0 KiB locked"
rm -r "$R/proc/2200"
run jack
expect_st jack ictal_detect OK "none running"
# JACK_DEFAULT_SERVER chooses the server when --server is not given; --set jack.server too.
export JACK_DEFAULT_SERVER=other
run jack
expect_st jack jackd WARN "no jackd named 'other'"
unset JACK_DEFAULT_SERVER
run jack --set jack.server=zz
expect_st jack jackd WARN "no jackd named 'zz'"

# ---- malformed trees ------------------------------------------------------------------------
mkdir -p "$T/empty"
run empty
[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "empty tree: status $rc"
$PY -c 'import json,sys; r=json.load(open(sys.argv[1])); assert len(r["checks"]) == 13' "$J" || fail "empty tree: bad JSON"
grep -q "neither proc/ nor sys/" "$T/empty.err" || fail "empty tree: no warning: $(cat "$T/empty.err")"
expect_st empty rtprio WARN "unknown"
expect_st empty jackd WARN "no jackd running"
mktree garbage
printf 'Max realtime priority     lots      more\n' >"$R/proc/self/limits"
printf '\377\376\001\002garbage\n' >"$R/proc/sys/kernel/version"
printf 'x\n' >"$R/proc/1234/task/1236/stat"                   # truncated stat
printf 'jack(d) \001\n' >"$R/proc/2000/comm"
statline 1237 "jack (weird) d" 70 1 >"$R/proc/1234/task/1237/stat" # comm with blanks and parens
printf 'notanumber\n' >"$R/proc/sys/kernel/sched_rt_runtime_us"
printf 'garbage without brackets\n' >"$R/sys/kernel/mm/transparent_hugepage/enabled"
printf '\n' >"$R/proc/sys/vm/swappiness"
printf 'audio:x:notagid:alice\n' >"$R/etc/group"
head -c 3000 /dev/urandom >"$R/proc/cmdline"
run garbage
[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "garbage tree: status $rc: $(cat "$T/garbage.err")"
$PY -c 'import json,sys; r=json.load(open(sys.argv[1])); assert len(r["checks"]) == 13' "$J" || fail "garbage tree: bad JSON"
expect_st garbage rtprio WARN "garbled"
expect_st garbage rt_throttling WARN "not a number"
expect_st garbage transparent_hugepages WARN "unreadable"
expect_st garbage audio_group WARN "no audio group"
expect_st garbage jackd OK "1 SCHED_FIFO thread, priority 70"
"$RC" --root "$R" >/dev/null 2>&1
[ $? -le 1 ] || fail "garbage tree (text): status $?"
# Every stat of jackd unreadable: unknown, not a verdict on real-time.
for f in "$R"/proc/1234/task/*/stat; do printf 'x\n' >"$f"; done
run garbage
expect_st garbage jackd WARN "scheduling unknown"

# ---- arguments -------------------------------------------------------------------------------
usage_err() { # DESCRIPTION PATTERN ARGS...
    d=$1 p=$2
    shift 2
    out=$("$RC" "$@" 2>&1 >/dev/null)
    r=$?
    [ "$r" = 2 ] || fail "$d: status $r, expected 2"
    printf '%s\n' "$out" | grep -q -- "$p" || fail "$d: message '$out' lacks '$p'"
}
usage_err "unknown option" "unknown option --bogus" --bogus
usage_err "an operand" "unknown argument foo" foo
usage_err "--root without a value" "--root needs a value" --root
usage_err "--root missing" "no-such-dir: No such file" --root "$T/no-such-dir"
usage_err "--root a file" "not a directory" --root "$T/good.json"
usage_err "--root empty" "empty directory name" --root ""
usage_err "--server empty" "a JACK server name" --server ""
usage_err "a bad --set" "log.color" --set log.color=purple
usage_err "--set of an unknown key" "unknown key" --set jack.serverx=a
"$RC" --help | grep -q "usage: ictal-rtcheck" || fail "--help"
"$RC" --print-config | grep -q "^\[log\]" || fail "--print-config shows no [log]"
"$RC" --root="$T/good" --server=eeg --json >/dev/null || fail "--root=DIR --server=NAME forms"

# ---- the real machine: runs, exits 0 or 1, valid JSON ----------------------------------------
"$RC" --json >"$T/real.json" 2>"$T/real.err"
r=$?
[ "$r" = 0 ] || [ "$r" = 1 ] || fail "real machine: status $r: $(cat "$T/real.err")"
$PY -c 'import json,sys; r=json.load(open(sys.argv[1])); assert len(r["checks"]) == 13 and r["exit_status"] == int(sys.argv[2])' \
    "$T/real.json" "$r" || fail "real machine: bad JSON"
"$RC" >"$T/real.txt" 2>&1
[ $? -le 1 ] || fail "real machine (text)"

if [ $fails != 0 ]; then
    echo "test_rtcheck: $fails check(s) failed (trees in $T)" >&2
    exit 1
fi
echo "test_rtcheck: all checks passed"
