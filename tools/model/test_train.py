#!/usr/bin/python3
"""Fast tests of the training code (seconds, not a training run).

  test_train.py PATH/TO/ictal-synth [PATH/TO/ictal-run]

1. The chunked training scan (train_scan) equals ictal_ref's Python-loop scan
   to <= 1e-5, for random Mamba-2 sizes (ngroups 1 and 2, lengths that are
   not a multiple of the chunk), whole models and the masked batch forward.
2. Loaders on synthetic files laid out as CHB-MIT (ictal-synth --dataset)
   and BIDS/SzCORE (sub-*/ses-*/eeg/*_eeg.edf + _events.tsv); the CHB-MIT
   summary and Siena list parsers on the real annotation files of the shared
   data (skipped when absent); malformed inputs give one DataError naming
   the file.
3. The Python pre-filter replica equals the C pipeline's design.
4. Two training steps on a tiny synthetic set run, and twice give identical
   weights (deterministic with a seed); the exported file loads in ictal-run;
   plot_run.py draws it, and refuses a truncated EDF with one line.
5. The post-processing replica on hand-made cases (docs/postproc.md).

Exit 77 (ctest SKIP_RETURN_CODE) when torch cannot be imported.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
try:
    import numpy as np
    import torch
except Exception as exc:  # pragma: no cover
    print(f"skip: torch not importable ({exc})")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import data as D  # noqa: E402
import ictal_ref as R  # noqa: E402
import train as T  # noqa: E402
import train_eval as E  # noqa: E402
import train_scan as S  # noqa: E402

torch.set_num_threads(1)
failures = []
SHARED = os.environ.get("ICTAL_SHARED_DATA") or os.path.join(HERE, "..", "..", "..", "shared", "data")


def check(name, ok, msg=""):
    print(("ok   " if ok else "FAIL ") + name + (": " + msg if msg else ""), flush=True)
    if not ok:
        failures.append(name)


def raises(name, fn, needle):
    try:
        fn()
    except D.DataError as e:
        check(name, needle in str(e) and "\n" not in str(e), str(e))
        return
    check(name, False, "no DataError")


def test_scan():
    g = torch.Generator().manual_seed(5)
    for i, (d, N, hd, G, T_, Q) in enumerate([(16, 4, 8, 1, 100, 32), (12, 8, 6, 2, 77, 16),
                                              (8, 3, 4, 1, 33, 64), (16, 8, 8, 2, 64, 32)]):
        torch.manual_seed(i)
        blk = R.Mamba2Block(d, d_state=N, headdim=hd, ngroups=G)
        with torch.no_grad():
            for p in blk.parameters():
                p.add_(0.1 * torch.randn(p.shape, generator=g))
        u = torch.randn(3, T_, d, generator=g)
        with torch.no_grad():
            ref = blk(u)
            blk.mixer.forward = lambda x, m=blk.mixer, q=Q: S.fast_mixer_forward(m, x, q)
            fast = blk(u)
        err = (ref - fast).abs().max().item()
        check(f"scan d={d} N={N} G={G} T={T_} Q={Q}", err <= 1e-5, f"max |dy| {err:.2e}")
    m = T.build_model({"d_state": 4}, seed=3)
    R.randomize(m, 3)
    x = torch.randn(4, 256 * 30, generator=g) * 40
    with torch.no_grad():
        p0, s0 = m(x)
        S.use_fast_scan(m)
        p1, s1 = m(x)
        z, sc = S.batch_logits(m, x[None])
        mask = torch.tensor([[True, False, True, True]])
        zm, _ = S.batch_logits(m, x[None], mask)
    err = max((p0 - p1).abs().max().item(), (s0 - s1).abs().max().item(),
              (torch.sigmoid(z[0]) - p0).abs().max().item())
    check("model forward, fast scan == ictal_ref", err <= 1e-5, f"max |dp| {err:.2e}")
    # a masked channel is the model without it
    with torch.no_grad():
        p3, _ = m(x[[0, 2, 3]])
    err = (torch.sigmoid(zm[0]) - p3).abs().max().item()
    check("masked batch forward == model on the kept channels", err <= 1e-5, f"{err:.2e}")


def test_loaders(synth, tmp):
    chb = os.path.join(tmp, "chb")
    os.makedirs(chb)
    subprocess.run([synth, "--dataset", os.path.join(chb, "syn7"), "--patient", "7", "--files", "2",
                    "--duration", "120", "--seizures", "1", "--quiet"], check=True)
    # CHB-MIT layout: summary + EDFs (drop the sidecars: the summary must be used)
    for f in os.listdir(os.path.join(chb, "syn7")):
        if not f.endswith((".edf", "-summary.txt")):
            os.remove(os.path.join(chb, "syn7", f))
    recs = D.load_chbmit_dir(chb)
    info = D.parse_chbmit_summary(os.path.join(chb, "syn7", "syn07-summary.txt"))
    ok = (len(recs) == 2 and all(r.subject == "syn07" and r.data.shape == (23, 120 * 256) and
                                 len(r.seizures) == 1 for r in recs)
          and recs[0].labels == info["channels"] and recs[0].fs == 256.0)
    check("CHB-MIT layout loads (2 files, 23 ch, seizures from the summary)", ok,
          f"{[(r.name, r.data.shape, r.seizures) for r in recs]}")
    check("load_any picks the CHB-MIT layout", len(D.load_any(chb)) == 2)
    # BIDS layout
    bids = os.path.join(tmp, "bids")
    for sub, seed in (("01", 3), ("02", 4)):
        d = os.path.join(bids, f"sub-{sub}", "ses-01", "eeg")
        os.makedirs(d)
        subprocess.run([synth, "-o", os.path.join(d, f"sub-{sub}_ses-01_task-szMonitoring_run-00_eeg.edf"),
                        "--seed", str(seed), "--duration", "90", "--seizures", "1",
                        "--montage", "referential", "--quiet"], check=True)
    recs = D.load_bids(bids)
    sz_tsv = D.read_events_tsv(os.path.join(bids, "sub-01", "ses-01", "eeg",
                                            "sub-01_ses-01_task-szMonitoring_run-00_events.tsv"))
    ok = ([r.subject for r in recs] == ["sub-01", "sub-02"] and recs[0].data.shape == (19, 90 * 256)
          and recs[0].seizures == sz_tsv[0] and len(sz_tsv[0]) == 1 and sz_tsv[1] == 90.0)
    check("BIDS layout loads (subjects, 19 ch, events.tsv seizures)", ok,
          f"{[(r.subject, r.data.shape, r.seizures) for r in recs]}")
    check("load_any picks the BIDS layout", len(D.load_any(bids)) == 2)
    # EDF samples equal the C reader's physical values: the csv_bi and the
    # summary of the same recording agree to the second
    r0 = D.load_synth_dir(os.path.join(bids, "sub-01"))[0]
    check("EDF+ annotations carry the artifacts", len(r0.artifacts) > 0, f"{r0.artifacts[:2]}")
    # malformed inputs
    bad = os.path.join(tmp, "bad")
    os.makedirs(bad)
    src = recs[0].path
    with open(src, "rb") as f:
        raw = f.read()
    p = os.path.join(bad, "trunc.edf")
    open(p, "wb").write(raw[:len(raw) // 2])
    raises("truncated EDF", lambda: D.read_edf(p), "truncated data")
    open(p, "wb").write(b"hello")
    raises("tiny file", lambda: D.read_edf(p), "not an EDF")
    open(p, "wb").write(b"1       " + raw[8:])
    raises("bad version", lambda: D.read_edf(p), "not an EDF/BDF")
    q = os.path.join(bad, "x.csv_bi")
    open(q, "w").write("# version = csv_v1.0.0\nchannel,start_time,stop_time,label,confidence\nTERM,5,x,seiz,1\n")
    raises("CSV_BI bad number", lambda: D.read_csv_bi(q), "x.csv_bi:3")
    open(q, "w").write("TERM,5,6,seiz,1\n")
    raises("CSV_BI without column line", lambda: D.read_csv_bi(q), "column line")
    s = os.path.join(bad, "s-summary.txt")
    open(s, "w").write("File Name: a.edf\nNumber of Seizures in File: 2\nSeizure 1 Start Time: 10 seconds\n"
                       "Seizure 1 End Time: 20 seconds\n")
    raises("summary count mismatch", lambda: D.parse_chbmit_summary(s), "declares 2 seizures")
    open(s, "w").write("File Name: a.edf\nSeizure 1 Start Time: 30 seconds\nSeizure 1 End Time: 20 seconds\n")
    raises("summary end before start", lambda: D.parse_chbmit_summary(s), "before it starts")
    t = os.path.join(bad, "e_events.tsv")
    open(t, "w").write("onset\tduration\teventType\n1\t-2\tsz\n")
    raises("events.tsv negative duration", lambda: D.read_events_tsv(t), "e_events.tsv:2")
    raises("empty dir", lambda: D.load_synth_dir(os.path.join(tmp, "bad", "none")), "no .edf")


def test_real_annotations():
    chb = os.path.join(SHARED, "annotations", "chbmit", "chb05-summary.txt")
    if not os.path.exists(chb):
        print("skip: real annotation files absent")
        return
    i = D.parse_chbmit_summary(chb)
    sz = {f: v["seizures"] for f, v in i["files"].items() if v["seizures"]}
    check("chb05 summary", i["rate"] == 256 and len(i["channels"]) == 23 and
          sz.get("chb05_06.edf") == [(417.0, 532.0)] and sum(len(v) for v in sz.values()) == 5, f"{sz}")
    i8 = D.parse_chbmit_summary(os.path.join(SHARED, "annotations", "chbmit", "chb08-summary.txt"))
    check("chb08 summary", i8["files"]["chb08_02.edf"]["seizures"] == [(2670.0, 2841.0)] and
          sum(len(v["seizures"]) for v in i8["files"].values()) == 5)
    s16 = D.parse_siena_list(os.path.join(SHARED, "annotations", "siena", "Seizures-list-PN16.txt"))
    check("Siena PN16 (wall clock, past midnight)", s16["rate"] == 512 and
          s16["files"]["PN16-1.edf"] == [(7184.0, 7307.0)], f"{s16}")
    raises("Siena PN00 typo reported", lambda: D.parse_siena_list(
        os.path.join(SHARED, "annotations", "siena", "Seizures-list-PN00.txt")), "implausible seizure in PN00-3.edf")


def test_prefilter():
    from scipy.signal import sosfreqz
    sos = D.design_prefilter(T.PREFILTER, 256.0)
    w, h = sosfreqz(sos, worN=[0.1, 0.5, 10.0, 50.0, 60.0, 70.0, 100.0], fs=256.0)
    g = np.abs(h)
    # docs/pipeline.md's table for 0.5 Hz HP / 50 notch / 70 LP: -3 dB at the corners
    ok = (abs(20 * np.log10(g[1]) + 3.01) < 0.05 and abs(g[2] - 1) < 0.01 and g[3] < 1e-6 and g[4] < 1e-6
          and abs(20 * np.log10(g[5]) + 3.01) < 0.05 and g[0] < 0.05)
    check("prefilter design (corners -3 dB, notches at 50 and 60 Hz)", ok, f"{g}")


def test_training(synth, run, tmp):
    data = os.path.join(tmp, "ds")
    for split, p in (("train", 11), ("val", 21)):
        os.makedirs(os.path.join(data, split))
        subprocess.run([synth, "--dataset", os.path.join(data, split, f"syn{p}"), "--patient", str(p),
                        "--files", "1", "--duration", "60", "--seizures", "1", "--quiet"], check=True)
    cache = os.path.join(tmp, "cache")
    T.main(["cache", "--data", data, "--cache", cache])
    idx = json.load(open(os.path.join(cache, "index.json")))
    check("cache: one recording per split, subjects disjoint",
          sorted((r["split"], r["subject"]) for r in idx) == [("train", "syn11"), ("val", "syn21")])
    ws = []
    for k in range(2):
        out = os.path.join(tmp, f"run{k}")
        T.main(["train", "--cache", cache, "--out", out, "--steps", "2", "--batch", "2", "--window", "16",
                "--burn", "4", "--seed", "3", "--mine-at", "0.5", "--ckpt-every", "2",
                "--arch", '{"c1": 4, "c2": 8, "d": 8, "d_state": 4, "headdim": 4}'])
        ws.append(torch.load(os.path.join(out, "ckpt_000002.pt"))["state"])
    same = all(torch.equal(ws[0][k], ws[1][k]) for k in ws[0])
    moved = not torch.equal(ws[0]["head.weight"], T.build_model(
        {"c1": 4, "c2": 8, "d": 8, "d_state": 4, "headdim": 4}, 3).state_dict()["head.weight"])
    check("2 training steps: deterministic for a seed, weights moved", same and moved)
    mp = os.path.join(tmp, "m.safetensors")
    T.main(["select", "--cache", cache, "--run", os.path.join(tmp, "run0"), "--model", mp, "--name", "tiny"])
    _, meta = R.load_safetensors(mp)
    spec = json.loads(meta["ictal"])
    check("select writes postproc and provenance", spec["name"] == "tiny" and "threshold_on" in spec["postproc"]
          and spec["provenance"]["training"]["seed"] == 3)
    if run:
        edf = os.path.join(data, "val", "syn21", "syn21_01.edf")
        r = subprocess.run([run, "-m", mp, "-f", "json", "-o", os.path.join(tmp, "o"), edf],
                           capture_output=True, text=True)
        check("ictal-run runs the exported model", r.returncode == 0, r.stderr.strip()[-200:])
        plot = os.path.join(HERE, "..", "plot_run.py")
        png = os.path.join(tmp, "p.png")
        r = subprocess.run([sys.executable, plot, "-m", mp, edf, "--events", os.path.join(tmp, "o.jsonl"),
                            "--channels", "2", "-o", png], capture_output=True, text=True)
        check("plot_run.py renders a PNG", r.returncode == 0 and open(png, "rb").read(4) == b"\x89PNG",
              r.stderr.strip()[-200:])
        bad = os.path.join(tmp, "bad.edf")
        open(bad, "wb").write(open(edf, "rb").read()[:5000])
        r = subprocess.run([sys.executable, plot, "-m", mp, bad, "-o", png], capture_output=True, text=True)
        check("plot_run.py on a truncated EDF: one line, non-zero exit",
              r.returncode != 0 and "truncated" in r.stderr and r.stderr.strip().count("\n") == 0, r.stderr.strip())


def test_postproc():
    pp = {"threshold_on": 0.8, "threshold_off": 0.5, "n_on": 2, "n_off": 2, "opening": 0.0,
          "closing": 0.0, "min_duration": 3.0, "merge_gap": 2.0, "max_duration": 5.0}
    p = np.zeros(40)
    p[5:9] = 0.9          # 4 frames: kept (min 3)
    p[13:14] = 0.9        # single frame: no onset (n_on 2)
    p[20:22] = 0.9        # 2 frames: cancelled
    p[25:38] = 0.9        # 13 frames: split at 5
    ev, al, canc = E.postproc(p, 1.0, pp)
    ok = (ev == [(5.0, 9.0), (25.0, 30.0), (30.0, 35.0), (35.0, 38.0)] and canc == 1 and
          [a[0] for a in al] == [7.0, 22.0, 27.0])
    check("postproc replica: hysteresis, cancel, split, alarm emit = onset + D + 1", ok, f"{ev} {al} {canc}")
    sc = E.score_file([(100.0, 150.0)], [(140.0, 160.0), (1000.0, 1010.0)], 3600.0, [(145.0, 140.0, 160.0)])
    check("SzCORE event scoring + latency", (sc["tp"], sc["fp"], sc["fn"], sc["lat"]) == (1, 1, 0, [45.0]), f"{sc}")


def main():
    synth = sys.argv[1] if len(sys.argv) > 1 else None
    run = sys.argv[2] if len(sys.argv) > 2 else None
    tmp = os.environ.get("ICTAL_TEST_TMPDIR") or tempfile.gettempdir()
    tmp = tempfile.mkdtemp(prefix="test_train.", dir=tmp)
    try:
        test_scan()
        test_prefilter()
        test_postproc()
        test_real_annotations()
        if synth:
            test_loaders(synth, tmp)
            test_training(synth, run, tmp)
        else:
            print("skip: no ictal-synth given")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(failures)} failed" if failures else "all passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
