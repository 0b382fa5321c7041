"""data — recordings and seizure annotations for training ictal models.

Readers (numpy only, no EDF library):

  read_edf(path)                 EDF, EDF+ (C/D, with TAL annotations) and BDF
  read_csv_bi(path)              TUH/NEDC CSV_BI seizure spans
  read_events_tsv(path)          BIDS/SzCORE *_events.tsv seizure spans
  parse_chbmit_summary(path)     CHB-MIT chbNN-summary.txt (and ictal-synth's)
  parse_siena_list(path)         Siena Seizures-list-PNxx.txt (wall-clock times)

Data sets (each returns a list of Recording):

  load_synth_dir(dir)            ictal-synth --dataset / -o output: *.edf + sidecars
  load_chbmit_dir(dir)           CHB-MIT layout: chbNN/chbNN-summary.txt + EDFs
  load_bids(root)                BIDS/SzCORE: sub-*/ses-*/eeg/*_eeg.edf + *_events.tsv
  load_any(path)                 whichever of the three a directory is

and the signal path the C pipeline applies before the model (prefilter(),
a replica of src/prefilter.c: Butterworth by the bilinear transform with
pre-warping, RBJ notch, transposed direct form II in double).

Every reader raises DataError with one line naming the file and what is
wrong in it.
"""
import csv
import datetime
import glob
import math
import os
import re
from dataclasses import dataclass, field

import numpy as np


class DataError(Exception):
    pass


@dataclass
class Recording:
    name: str                      # recording name (file name without extension)
    subject: str                   # patient / subject code: splits never mix subjects
    labels: list                   # channel labels, in order
    fs: float                      # sample rate (Hz)
    data: np.ndarray               # (C, T) float32, microvolts
    seizures: list                 # [(start_s, end_s)]
    artifacts: list = field(default_factory=list)  # [(start_s, end_s, label)]
    path: str = ""

    @property
    def duration(self):
        return self.data.shape[1] / self.fs


# ---------------------------------------------------------------- EDF / BDF
def _field(b, what, path):
    s = b.decode("latin-1").strip()
    return s


def _num(b, what, path):
    s = b.decode("latin-1").strip()
    try:
        return float(s)
    except ValueError:
        raise DataError(f"{path}: header field {what} is not a number: '{s}'") from None


def _parse_tal(raw, path):
    """EDF+ time-stamped annotation lists of one annotation signal record."""
    out = []
    for tal in raw.split(b"\x00"):
        if not tal or tal[0:1] not in (b"+", b"-"):
            continue
        parts = tal.split(b"\x14")
        head = parts[0].split(b"\x15")
        try:
            onset = float(head[0])
            dur = float(head[1]) if len(head) > 1 and head[1] else 0.0
        except ValueError:
            raise DataError(f"{path}: malformed EDF+ annotation onset/duration {head!r}") from None
        for txt in parts[1:]:
            if txt:
                out.append((onset, dur, txt.decode("utf-8", "replace")))
    return out


def read_edf(path, want_data=True):
    """Read an EDF/EDF+/BDF file. Returns dict with labels, fs (per signal),
    data (list of float32 arrays in physical units, or None), annotations
    [(onset, duration, text)] (EDF+ only, record time-keeping entries
    dropped), start (datetime or None), units."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror}") from None
    if len(raw) < 256:
        raise DataError(f"{path}: not an EDF file: {len(raw)} bytes, shorter than the 256-byte header")
    bdf = raw[0:1] == b"\xff"
    if not bdf and raw[0:8] != b"0       ":
        raise DataError(f"{path}: not an EDF/BDF file: version field {raw[0:8]!r}")
    hdr_bytes = int(_num(raw[184:192], "header bytes", path))
    reserved = raw[192:236].decode("latin-1")
    nrec = int(_num(raw[236:244], "number of data records", path))
    rec_dur = _num(raw[244:252], "data record duration", path)
    ns = int(_num(raw[252:256], "number of signals", path))
    if ns <= 0 or ns > 4096:
        raise DataError(f"{path}: implausible number of signals {ns}")
    if hdr_bytes != 256 * (ns + 1):
        raise DataError(f"{path}: header size {hdr_bytes} does not match {ns} signals ({256 * (ns + 1)} expected)")
    if len(raw) < hdr_bytes:
        raise DataError(f"{path}: truncated header ({len(raw)} of {hdr_bytes} bytes)")
    h = raw[256:hdr_bytes]

    offs, o = {}, 0
    for name, w in (("label", 16), ("transducer", 80), ("unit", 8), ("pmin", 8), ("pmax", 8),
                    ("dmin", 8), ("dmax", 8), ("prefilter", 80), ("nsamp", 8), ("reserved", 32)):
        offs[name] = (o, w)
        o += w

    def get(name):  # the header is field-major: all labels, then all transducers, ...
        off, w = offs[name]
        return [h[off * ns + i * w: off * ns + (i + 1) * w] for i in range(ns)]
    labels = [b.decode("latin-1").strip() for b in get("label")]
    units = [b.decode("latin-1").strip() for b in get("unit")]
    pmin = np.array([_num(b, "physical minimum", path) for b in get("pmin")])
    pmax = np.array([_num(b, "physical maximum", path) for b in get("pmax")])
    dmin = np.array([_num(b, "digital minimum", path) for b in get("dmin")])
    dmax = np.array([_num(b, "digital maximum", path) for b in get("dmax")])
    nsamp = np.array([int(_num(b, "samples per record", path)) for b in get("nsamp")])
    if np.any(nsamp <= 0):
        raise DataError(f"{path}: a signal has no samples per data record")
    if np.any(dmax <= dmin):
        raise DataError(f"{path}: a signal's digital maximum is not above its minimum")
    bps = 3 if bdf else 2
    rec_bytes = int(nsamp.sum()) * bps
    avail = (len(raw) - hdr_bytes) // rec_bytes
    if nrec < 0:
        nrec = avail
    if avail < nrec:
        raise DataError(f"{path}: truncated data: the header declares {nrec} data records of "
                        f"{rec_bytes} bytes, but the file holds only {avail} complete records")
    is_annot = [lab in ("EDF Annotations", "BDF Annotations") for lab in labels]
    body = np.frombuffer(raw, dtype=np.uint8, count=nrec * rec_bytes, offset=hdr_bytes)
    body = body.reshape(nrec, rec_bytes)
    data, annots = [], []
    starts = np.concatenate([[0], np.cumsum(nsamp * bps)])
    for i in range(ns):
        blk = body[:, starts[i]:starts[i + 1]]
        if is_annot[i]:
            for r in range(nrec):
                for a in _parse_tal(blk[r].tobytes(), path):
                    annots.append(a)
            data.append(None)
            continue
        if not want_data:
            data.append(None)
            continue
        if bdf:
            b = blk.reshape(-1, 3).astype(np.int32)
            d = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
            d = np.where(d >= 1 << 23, d - (1 << 24), d)
        else:
            d = np.ascontiguousarray(blk).view("<i2").reshape(-1).astype(np.int32)
        gain = (pmax[i] - pmin[i]) / (dmax[i] - dmin[i])
        data.append(((d - dmin[i]) * gain + pmin[i]).astype(np.float32))
    # EDF+ records start with an empty-text time-keeping TAL: those carry no text
    annots = [a for a in annots if a[2].strip()]
    start = None
    try:
        dd, mm, yy = (int(x) for x in raw[168:176].decode("latin-1").split("."))
        HH, MM, SS = (int(x) for x in raw[176:184].decode("latin-1").split("."))
        start = datetime.datetime(1985 + (yy - 85) % 100, mm, dd, HH, MM, SS)
    except (ValueError, TypeError):
        pass
    fs = nsamp / rec_dur if rec_dur > 0 else nsamp.astype(float)
    return {"labels": labels, "units": units, "fs": fs, "data": data, "annotations": annots,
            "is_annotation": is_annot, "start": start, "edfplus": reserved.startswith("EDF+"),
            "bdf": bdf, "records": nrec, "record_duration": rec_dur}


_UNIT_SCALE = {"uv": 1.0, "µv": 1.0, "mv": 1e3, "v": 1e6, "nv": 1e-3}


def edf_signals(path, channels=None):
    """The EEG signals of an EDF file as the C pipeline selects them for a
    model with channel policy `any`: every data signal at the stream rate (the
    rate most signals share), in file order; or the given labels in that order.
    Returns (labels, fs, data (C, T) float32 in µV, header dict)."""
    e = read_edf(path)
    idx = [i for i, a in enumerate(e["is_annotation"]) if not a]
    if not idx:
        raise DataError(f"{path}: no data signals")
    rates = [e["fs"][i] for i in idx]
    vals, counts = np.unique(rates, return_counts=True)
    stream = vals[np.argmax(counts)]
    idx = [i for i in idx if e["fs"][i] == stream]
    if channels:
        norm = lambda s: re.sub(r"\s+", "", s).upper().removeprefix("EEG")  # noqa: E731
        have = [norm(e["labels"][i]) for i in idx]
        sel = []
        for ch in channels:
            if norm(ch) not in have:
                raise DataError(f"{path}: no channel '{ch}' (it has {', '.join(e['labels'][i] for i in idx)})")
            sel.append(idx[have.index(norm(ch))])
        idx = sel
    data = np.stack([e["data"][i] * _UNIT_SCALE.get(e["units"][i].lower(), 1.0) for i in idx])
    return [e["labels"][i] for i in idx], float(stream), data.astype(np.float32), e


# ---------------------------------------------------------------- annotations
def read_csv_bi(path):
    """Seizure spans [(start_s, stop_s)] of a CSV_BI file (rows labelled seiz)
    and the declared duration (None if absent)."""
    out, dur = [], None
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror}") from None
    header_seen = False
    for n, line in enumerate(lines, 1):
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            m = re.match(r"#\s*duration\s*=\s*([0-9.]+)", s)
            if m:
                dur = float(m.group(1))
            continue
        if not header_seen:
            if not s.startswith("channel,"):
                raise DataError(f"{path}:{n}: expected the column line 'channel,start_time,stop_time,label,confidence'")
            header_seen = True
            continue
        f = s.split(",")
        if len(f) < 4:
            raise DataError(f"{path}:{n}: expected 5 fields, found {len(f)}")
        try:
            a, b = float(f[1]), float(f[2])
        except ValueError:
            raise DataError(f"{path}:{n}: start/stop time is not a number") from None
        if not (math.isfinite(a) and math.isfinite(b)) or b < a or a < 0:
            raise DataError(f"{path}:{n}: bad span {a}..{b}")
        if f[3].strip().lower() != "bckg":
            out.append((a, b))
    if not header_seen:
        raise DataError(f"{path}: no column line: not a CSV_BI file")
    return sorted(out), dur


def read_events_tsv(path):
    """Seizure spans of a BIDS/SzCORE events.tsv (eventType starting 'sz')
    and the recordingDuration when present."""
    try:
        rows = list(csv.DictReader(open(path, encoding="utf-8"), delimiter="\t"))
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror}") from None
    out, dur = [], None
    for n, r in enumerate(rows, 2):
        if r.get("onset") is None or r.get("duration") is None or r.get("eventType") is None:
            raise DataError(f"{path}:{n}: needs the columns onset, duration, eventType")
        try:
            a, d = float(r["onset"]), float(r["duration"])
        except ValueError:
            raise DataError(f"{path}:{n}: onset/duration is not a number") from None
        if not (math.isfinite(a) and math.isfinite(d)) or a < 0 or d < 0:
            raise DataError(f"{path}:{n}: bad onset {a} / duration {d}")
        if r.get("recordingDuration"):
            try:
                dur = float(r["recordingDuration"])
            except ValueError:
                pass
        if r["eventType"].strip().lower().startswith("sz"):
            out.append((a, a + d))
    return sorted(out), dur


def parse_chbmit_summary(path):
    """CHB-MIT summary → {"rate": Hz or None, "channels": [...],
    "files": {name: {"start": "HH:MM:SS", "end": ..., "seizures": [(s, e)]}}}
    (the channel list in force for each file is in files[name]["channels"])."""
    try:
        lines = open(path, encoding="latin-1").read().splitlines()
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror}") from None
    rate, channels, files, cur, pending = None, [], {}, None, None
    declared = None
    for n, line in enumerate(lines, 1):
        s = line.strip()
        m = re.match(r"Data Sampling Rate:\s*([0-9.]+)\s*Hz", s)
        if m:
            rate = float(m.group(1))
            continue
        if s.startswith("Channels in EDF Files") or s.startswith("Channels changed"):
            channels = []
            continue
        m = re.match(r"Channel\s+(\d+):\s*(.*)$", s)
        if m:
            channels.append(m.group(2).strip())
            continue
        m = re.match(r"File Name:\s*(\S+)", s)
        if m:
            if cur is not None and declared is not None and declared != len(files[cur]["seizures"]):
                raise DataError(f"{path}: {cur}: declares {declared} seizures, lists {len(files[cur]['seizures'])}")
            cur = m.group(1)
            files[cur] = {"start": None, "end": None, "seizures": [], "channels": list(channels)}
            declared, pending = None, None
            continue
        m = re.match(r"File (Start|End) Time:\s*(\S+)", s)
        if m and cur:
            files[cur][m.group(1).lower()] = m.group(2)
            continue
        m = re.match(r"Number of Seizures in File:\s*(\S+)", s)
        if m and cur:
            try:
                declared = int(m.group(1))
            except ValueError:
                raise DataError(f"{path}:{n}: number of seizures '{m.group(1)}' is not an integer") from None
            continue
        m = re.match(r"Seizure\s*(\d*)\s*(Start|End) Time:\s*([0-9.]+)\s*seconds?", s)
        if m and cur:
            t = float(m.group(3))
            if m.group(2) == "Start":
                if pending is not None:
                    raise DataError(f"{path}:{n}: seizure start without the previous one's end")
                pending = t
            else:
                if pending is None:
                    raise DataError(f"{path}:{n}: seizure end without a start")
                if t < pending:
                    raise DataError(f"{path}:{n}: seizure ends ({t} s) before it starts ({pending} s)")
                files[cur]["seizures"].append((pending, t))
                pending = None
            continue
        if s.startswith("Seizure") and cur:
            raise DataError(f"{path}:{n}: unreadable seizure line '{s}'")
    if cur is not None and declared is not None and declared != len(files[cur]["seizures"]):
        raise DataError(f"{path}: {cur}: declares {declared} seizures, lists {len(files[cur]['seizures'])}")
    if not files:
        raise DataError(f"{path}: no 'File Name:' entries: not a CHB-MIT summary")
    return {"rate": rate, "channels": channels, "files": files}


def _clock(s, path, n):
    m = re.match(r"^\s*(\d{1,2})[.:](\d{2})[.:](\d{2})\s*$", s)
    if not m:
        raise DataError(f"{path}:{n}: time '{s.strip()}' is not HH.MM.SS")
    h, mi, se = (int(x) for x in m.groups())
    if h > 23 or mi > 59 or se > 59:
        raise DataError(f"{path}:{n}: time '{s.strip()}' out of range")
    return h * 3600 + mi * 60 + se


def parse_siena_list(path, max_seizure_s=3600.0):
    """Siena Seizures-list-PNxx.txt → {"rate": Hz, "files": {name: [(s, e)]}}
    with times relative to each file's registration start (wall-clock times,
    wrapping past midnight). A seizure that ends after its registration or
    lasts more than max_seizure_s is refused (DataError names it): the list
    has typos (PN00's third seizure)."""
    try:
        lines = open(path, encoding="latin-1").read().splitlines()
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror}") from None
    rate, files, cur = None, {}, None
    for n, line in enumerate(lines, 1):
        s = line.strip()
        m = re.match(r"Data Sampling Rate:\s*([0-9.]+)", s)
        if m:
            rate = float(m.group(1))
            continue
        m = re.match(r"File name:\s*(\S+)", s, re.I)
        if m:
            cur = {"file": m.group(1), "reg_start": None, "reg_end": None, "sz_start": None}
            files.setdefault(cur["file"], [])
            continue
        m = re.match(r"Registration (start|end) time:\s*(.*)$", s, re.I)
        if m and cur:
            cur["reg_" + m.group(1).lower()] = _clock(m.group(2), path, n)
            continue
        m = re.match(r"(?:Seizure )?(start|end) time:\s*(.*)$", s, re.I)
        if m and cur:
            if cur["reg_start"] is None:
                raise DataError(f"{path}:{n}: seizure time before the registration start time")
            t = _clock(m.group(2), path, n)
            rel = (t - cur["reg_start"]) % 86400
            if m.group(1).lower() == "start":
                cur["sz_start"] = rel
            else:
                if cur["sz_start"] is None:
                    raise DataError(f"{path}:{n}: seizure end without a start")
                a, b = cur["sz_start"], rel
                reg_len = (cur["reg_end"] - cur["reg_start"]) % 86400 if cur["reg_end"] is not None else None
                if b < a or b - a > max_seizure_s or (reg_len is not None and b > reg_len):
                    raise DataError(f"{path}:{n}: implausible seizure in {cur['file']}: "
                                    f"{a:.0f}..{b:.0f} s after registration start "
                                    f"({b - a:.0f} s long, registration {reg_len} s)")
                files[cur["file"]].append((float(a), float(b)))
                cur["sz_start"] = None
    if not files:
        raise DataError(f"{path}: no 'File name:' entries: not a Siena seizure list")
    return {"rate": rate, "files": files}


def edf_artifacts(annotations):
    """Artifact spans from ictal-synth's EDF+ annotations (labels eyem, musc,
    chew, elpp, artf), for hard-negative sampling."""
    out = []
    for on, dur, txt in annotations:
        k = txt.split()[0].lower() if txt.split() else ""
        if k in ("eyem", "musc", "chew", "elpp", "artf"):
            out.append((on, on + dur, k))
    return out


# ---------------------------------------------------------------- data sets
def _subject_of(name, sep="_-"):
    m = re.match(r"^([^" + re.escape(sep) + r"]+)", name)
    return m.group(1) if m else name


def load_recording(edf_path, seizures=None, subject=None, channels=None):
    """One EDF with its seizures: given, or from a sidecar next to it
    (NAME.csv_bi, NAME_events.tsv / NAME without _eeg + _events.tsv)."""
    labels, fs, data, e = edf_signals(edf_path, channels)
    base = os.path.splitext(edf_path)[0]
    name = os.path.basename(base)
    if seizures is None:
        if os.path.exists(base + ".csv_bi"):
            seizures, _ = read_csv_bi(base + ".csv_bi")
        else:
            tsv = (base[:-4] if base.endswith("_eeg") else base) + "_events.tsv"
            if os.path.exists(tsv):
                seizures, _ = read_events_tsv(tsv)
            else:
                raise DataError(f"{edf_path}: no seizure annotation (.csv_bi or _events.tsv) next to it")
    return Recording(name=name, subject=subject or _subject_of(name), labels=labels, fs=fs,
                     data=data, seizures=list(seizures), artifacts=edf_artifacts(e["annotations"]),
                     path=edf_path)


def load_synth_dir(d, channels=None):
    """Every EDF under d (ictal-synth output) with its CSV_BI sidecar."""
    paths = sorted(glob.glob(os.path.join(d, "**", "*.edf"), recursive=True))
    if not paths:
        raise DataError(f"{d}: no .edf files")
    return [load_recording(p, channels=channels) for p in paths]


def load_chbmit_dir(d, channels=None):
    """CHB-MIT layout: every *-summary.txt under d; each listed EDF that exists
    next to it is loaded with the summary's seizures; subject = summary prefix."""
    sums = sorted(glob.glob(os.path.join(d, "**", "*-summary.txt"), recursive=True))
    if not sums:
        raise DataError(f"{d}: no *-summary.txt (CHB-MIT layout)")
    out = []
    for s in sums:
        subj = os.path.basename(s)[:-len("-summary.txt")]
        info = parse_chbmit_summary(s)
        for fname, f in info["files"].items():
            p = os.path.join(os.path.dirname(s), fname)
            if os.path.exists(p):
                out.append(load_recording(p, f["seizures"], subj, channels))
    if not out:
        raise DataError(f"{d}: the summaries list no EDF file that exists")
    return out


def load_bids(root, channels=None):
    """BIDS/SzCORE layout: sub-*/ses-*/eeg/*_eeg.edf with *_events.tsv;
    subject = the sub- entity."""
    paths = sorted(glob.glob(os.path.join(root, "sub-*", "ses-*", "eeg", "*_eeg.edf")))
    if not paths:
        raise DataError(f"{root}: no sub-*/ses-*/eeg/*_eeg.edf (BIDS layout)")
    out = []
    for p in paths:
        m = re.search(r"(sub-[A-Za-z0-9]+)", os.path.basename(p))
        tsv = p[:-len("_eeg.edf")] + "_events.tsv"
        if not os.path.exists(tsv):
            raise DataError(f"{p}: no {os.path.basename(tsv)} next to it")
        sz, _ = read_events_tsv(tsv)
        out.append(load_recording(p, sz, m.group(1) if m else None, channels))
    return out


def load_any(path, channels=None):
    if glob.glob(os.path.join(path, "sub-*")):
        return load_bids(path, channels)
    if glob.glob(os.path.join(path, "**", "*-summary.txt"), recursive=True):
        return load_chbmit_dir(path, channels)
    return load_synth_dir(path, channels)


# ---------------------------------------------------------------- pre-filter
def design_prefilter(stages, fs):
    """Second-order sections (scipy sos layout) of a model's prefilter list,
    the formulas of src/prefilter.c."""
    sos = []

    def butter(order, f, hp):
        K = math.tan(math.pi * f / fs)
        K2 = K * K
        if order % 2:
            norm = 1.0 + K
            b0 = 1.0 / norm if hp else K / norm
            b1 = -b0 if hp else b0
            sos.append([b0, b1, 0.0, 1.0, (K - 1.0) / norm, 0.0])
        for k in range(order // 2 - 1, -1, -1):
            a = -2.0 * math.cos(math.pi * (2.0 * k + order + 1.0) / (2.0 * order))
            norm = 1.0 + a * K + K2
            if hp:
                b0, b1 = 1.0 / norm, -2.0 / norm
            else:
                b0, b1 = K2 / norm, 2.0 * K2 / norm
            sos.append([b0, b1, b0, 1.0, 2.0 * (K2 - 1.0) / norm, (1.0 - a * K + K2) / norm])

    for st in stages:
        t = st["type"]
        order = int(st.get("order", 2))
        if t == "highpass":
            butter(order, st["freq_hz"], True)
        elif t == "lowpass":
            butter(order, st["freq_hz"], False)
        elif t == "bandpass":
            butter(order, st["freq_hz"], True)
            butter(order, st["freq2_hz"], False)
        elif t == "notch":
            w0 = 2.0 * math.pi * st["freq_hz"] / fs
            cw, alpha = math.cos(w0), math.sin(w0) / (2.0 * st.get("q", 30.0))
            a0 = 1.0 + alpha
            sos.append([1.0 / a0, -2.0 * cw / a0, 1.0 / a0, 1.0, -2.0 * cw / a0, (1.0 - alpha) / a0])
        else:
            raise DataError(f"prefilter stage type '{t}' unknown")
    return np.array(sos, dtype=np.float64)


def prefilter(x, fs, stages):
    """Causal prefilter of (C, T) samples, float32 out."""
    from scipy.signal import sosfilt
    if not stages:
        return x.astype(np.float32)
    return sosfilt(design_prefilter(stages, fs), x.astype(np.float64), axis=-1).astype(np.float32)


def resample(x, fs, target):
    """Rate conversion for real data at another rate (polyphase; the C
    pipeline uses libsamplerate, so this is close, not identical)."""
    if fs == target:
        return x
    from fractions import Fraction
    from scipy.signal import resample_poly
    fr = Fraction(target / fs).limit_denominator(1000)
    return resample_poly(x, fr.numerator, fr.denominator, axis=-1).astype(np.float32)
