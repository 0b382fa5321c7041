/*
 * config_keys.h — THE table of every configuration key (an X-macro list).
 *
 * Included only by src/config*.c. Everything derives from it: parsing and
 * validation, the environment variable names (ICTAL_<SECTION>_<KEY>),
 * --print-config, rt-config/ictal.conf.example and docs/configuration.md
 * (regenerate both with `ictal-config --markdown` / `--example` after an edit;
 * test_config_docs fails until you do).
 *
 * ICTAL_CFG_SECTION(name, programs, doc)
 * ICTAL_CFG_KEY(section, key, type, default, unit, min, max, range_flags,
 *               choices, programs, check, doc)
 *
 *   type      BOOL INT DOUBLE STRING ENUM LIST DURATION (ICTAL_CONFIG_<type>)
 *   default   text, parsed like any other value at create time
 *   unit      shown in the docs ("" when none); durations are in seconds
 *   min, max  numeric bounds, used as range_flags says:
 *             RMIN (min inclusive), RMINX (min exclusive), RMAX (max inclusive)
 *   choices   "a|b|c" for ENUM, and for LIST items (NULL: free text)
 *   programs  P_DETECT|P_PLAY|P_LOG|P_RUN|P_SCORE|P_SYNTH|P_TOOLS or P_ALL
 *   check     extra check of STRING/LIST text: CHK_NONE, CHK_HOSTPORT, CHK_NONEMPTY
 *   doc       one line for the docs and the example file
 *
 * Sections are listed in the order the docs and --print-config show them.
 * Contradictions between keys are checked in config.c (validate_relations).
 */

/* ---- programs ---------------------------------------------------------- */

ICTAL_CFG_SECTION(detect, P_DETECT,
    "`ictal-detect`, the real-time JACK client: EEG in, events out over OSC.")
ICTAL_CFG_KEY(detect, model, STRING, "", "path", 0, 0, 0, NULL, P_DETECT, CHK_NONE,
    "Model file (safetensors) to run; required by ictal-detect.")
ICTAL_CFG_KEY(detect, client_name, STRING, "ictal-detect", "", 0, 0, 0, NULL, P_DETECT, CHK_NONEMPTY,
    "JACK client name; taken exactly (a second instance needs another name).")
ICTAL_CFG_KEY(detect, channels, LIST, "", "", 0, 0, 0, NULL, P_DETECT, CHK_NONE,
    "Input port names, one per EEG channel; empty: the model's channel labels, else the names of the ports `connect` matches.")
ICTAL_CFG_KEY(detect, connect, LIST, "", "", 0, 0, 0, NULL, P_DETECT, CHK_NONE,
    "Source ports for the inputs: full names or regular expressions (ictal-play:.*); matched by name, else in order. A matched port named gate feeds the gate input.")
ICTAL_CFG_KEY(detect, gate, STRING, "", "", 0, 0, 0, NULL, P_DETECT, CHK_NONE,
    "Source port for the gate input (a stream is a run of samples with gate >= 0.5); empty: none, or the gate found by connect.")
ICTAL_CFG_KEY(detect, prob_port, BOOL, "true", "", 0, 0, 0, NULL, P_DETECT, CHK_NONE,
    "Register a CV output port carrying the frame seizure probability.")
ICTAL_CFG_KEY(detect, alarm_port, BOOL, "true", "", 0, 0, 0, NULL, P_DETECT, CHK_NONE,
    "Register a CV output port that is 1 while an event is confirmed, else 0.")
ICTAL_CFG_KEY(detect, journal, STRING, "", "path", 0, 0, 0, NULL, P_DETECT, CHK_NONE,
    "Append every alarm, cancel, final event, stream start/stop and xrun here as JSON Lines, fsync'd; empty: none.")
ICTAL_CFG_KEY(detect, report, STRING, "", "path", 0, 0, 0, NULL, P_DETECT, CHK_NONE,
    "Directory for the report files written at exit (summary, latency, configuration, model); empty: none.")
ICTAL_CFG_KEY(detect, exit_on_idle, BOOL, "false", "", 0, 0, 0, NULL, P_DETECT, CHK_NONE,
    "Exit (status 0) once the first stream has ended, its final events sent: for replays.")
ICTAL_CFG_KEY(detect, max_gap, DURATION, "10", "s", 0, 3600, RMIN | RMAX, NULL, P_DETECT, CHK_NONE,
    "A jump of the JACK frame clock up to this long is bridged (sample clock kept); longer ones end the stream.")
ICTAL_CFG_KEY(detect, console, BOOL, "true", "", 0, 0, 0, NULL, P_DETECT, CHK_NONE,
    "Print alarms, events, stream starts/stops and xruns on stderr (log level info).")

ICTAL_CFG_SECTION(play, P_PLAY,
    "`ictal-play`, the JACK client that plays an EDF/EDF+/BDF file into the graph (docs/ictal-play.md).")
ICTAL_CFG_KEY(play, file, STRING, "", "path", 0, 0, 0, NULL, P_PLAY, CHK_NONE,
    "Recording to play (also accepted as the program's operand).")
ICTAL_CFG_KEY(play, client_name, STRING, "ictal-play", "", 0, 0, 0, NULL, P_PLAY, CHK_NONEMPTY,
    "JACK client name, used exactly: a second client of that name on the server is an error.")
ICTAL_CFG_KEY(play, signals, LIST, "", "", 0, 0, 0, NULL, P_PLAY, CHK_NONE,
    "Signal labels to play, one output port each, in this order (LABEL#2: a duplicate label's second signal); empty: every signal at the stream rate.")
ICTAL_CFG_KEY(play, connect, LIST, "", "", 0, 0, 0, NULL, P_PLAY, CHK_NONE,
    "Input ports (full names or regular expressions) the outputs connect to, by matching name or else in order; implies wait. Empty: none.")
ICTAL_CFG_KEY(play, gate_connect, LIST, "", "", 0, 0, 0, NULL, P_PLAY, CHK_NONE,
    "Input ports the gate output connects to; empty: an input named gate on a client that connect reached.")
ICTAL_CFG_KEY(play, wait, BOOL, "false", "", 0, 0, 0, NULL, P_PLAY, CHK_NONE,
    "Start playing in the first cycle in which every output is connected (otherwise at activation).")
ICTAL_CFG_KEY(play, freewheel, BOOL, "false", "", 0, 0, 0, NULL, P_PLAY, CHK_NONE,
    "Switch JACK to freewheel while playing: as fast as the graph runs, lossless and deterministic.")
ICTAL_CFG_KEY(play, transport, BOOL, "false", "", 0, 0, 0, NULL, P_PLAY, CHK_NONE,
    "Follow JACK transport: play only while it rolls, seek when it is located.")
ICTAL_CFG_KEY(play, loop, BOOL, "false", "", 0, 0, 0, NULL, P_PLAY, CHK_NONE,
    "Play again from start at the end of the file (one gate-0 pad sample between passes).")
ICTAL_CFG_KEY(play, hold, BOOL, "false", "", 0, 0, 0, NULL, P_PLAY, CHK_NONE,
    "At the end, stay (outputs 0, gate 0) until SIGINT/SIGTERM instead of exiting.")
ICTAL_CFG_KEY(play, start, DURATION, "0", "s", 0, 0, RMIN, NULL, P_PLAY, CHK_NONE,
    "Offset into the recording where playback begins.")
ICTAL_CFG_KEY(play, read_ahead, DURATION, "2", "s", 0.01, 60, RMIN | RMAX, NULL, P_PLAY, CHK_NONE,
    "Disk read-ahead per channel (rounded up to a power of two of samples, at least 8 periods).")
ICTAL_CFG_KEY(play, resampler, ENUM, "sinc_medium", "", 0, 0, 0,
    "sinc_best|sinc_medium|sinc_fastest|zero_order_hold|linear", P_PLAY, CHK_NONE,
    "libsamplerate converter from the file's rate to the JACK rate.")
ICTAL_CFG_KEY(play, osc, LIST, "", "", 0, 0, 0, NULL, P_PLAY, CHK_HOSTPORT,
    "Where to send the file's annotations as /ictal/annotation (host:port or osc.udp://host:port/); empty: nowhere.")

ICTAL_CFG_SECTION(logger, P_LOG,
    "`ictal-log`, the OSC server that receives `/ictal/*` messages and writes the events "
    "(not to be confused with `[log]`, the diagnostics every program prints).")
ICTAL_CFG_KEY(logger, outputs, LIST, "console", "", 0, 0, 0, "console|jsonl|csv_bi", P_LOG, CHK_NONE,
    "Where received records go: console lines, a JSON Lines file, CSV_BI files (any combination).")
ICTAL_CFG_KEY(logger, jsonl_path, STRING, "ictal-events.jsonl", "path", 0, 0, 0, NULL, P_LOG, CHK_NONE,
    "JSON Lines output file (appended; - : standard output), used when outputs has jsonl.")
ICTAL_CFG_KEY(logger, csv_path, STRING, "{source}-{stream}.csv_bi", "path", 0, 0, 0, NULL, P_LOG, CHK_NONE,
    "CSV_BI file of each stream, rewritten whole after each final event; {source} and {stream} are replaced, {stream} is required.")
ICTAL_CFG_KEY(logger, fsync, BOOL, "true", "", 0, 0, 0, NULL, P_LOG, CHK_NONE,
    "fsync the JSON Lines file after each alarm, cancel and final event, and each CSV_BI rewrite (off: flush only).")
ICTAL_CFG_KEY(logger, transports, LIST, "udp, tcp", "", 0, 0, 0, "udp|tcp", P_LOG, CHK_NONE,
    "Servers to run on [osc] host and port: UDP, TCP (OSC 1.0 stream framing), or both.")
ICTAL_CFG_KEY(logger, telemetry, LIST, "", "", 0, 0, 0, "status|prob", P_LOG, CHK_NONE,
    "Telemetry messages also logged (console and JSON Lines); events, xruns, quality, start, stop and annotations always are.")
ICTAL_CFG_KEY(logger, verbose, BOOL, "false", "", 0, 0, 0, NULL, P_LOG, CHK_NONE,
    "Show /ictal/status heartbeats on the console and print the counters every stats_interval.")
ICTAL_CFG_KEY(logger, stats_interval, DURATION, "60", "s", 1, 86400, RMIN | RMAX, NULL, P_LOG, CHK_NONE,
    "Period of the counter lines printed when verbose.")
ICTAL_CFG_KEY(logger, stats_path, STRING, "", "path", 0, 0, 0, NULL, P_LOG, CHK_NONE,
    "JSON file with the counters, replaced when the servers are up, on SIGUSR1 and at exit; empty: none.")
ICTAL_CFG_KEY(logger, max_message_bytes, INT, "65536", "bytes", 256, 16777216, RMIN | RMAX, NULL, P_LOG, CHK_NONE,
    "Largest OSC packet (UDP datagram or TCP frame) accepted; bigger ones are counted and dropped.")
ICTAL_CFG_KEY(logger, max_connections, INT, "64", "", 1, 4096, RMIN | RMAX, NULL, P_LOG, CHK_NONE,
    "TCP connections served at once; further ones are closed at once and counted.")
ICTAL_CFG_KEY(logger, tcp_timeout, DURATION, "10", "s", 0.1, 3600, RMIN | RMAX, NULL, P_LOG, CHK_NONE,
    "A TCP connection that holds a partial packet this long without sending more is closed.")
ICTAL_CFG_KEY(logger, dedup_max, INT, "1000000", "records", 1000, 100000000, RMIN | RMAX, NULL, P_LOG, CHK_NONE,
    "Event record keys remembered to drop resent duplicates; beyond it finished streams are forgotten first.")

ICTAL_CFG_SECTION(run, P_RUN,
    "`ictal-run`, the offline pipeline: EDF file in, events and reports out, no JACK.")
ICTAL_CFG_KEY(run, model, STRING, "", "path", 0, 0, 0, NULL, P_RUN, CHK_NONE,
    "Model file (safetensors) to run; required by ictal-run.")
ICTAL_CFG_KEY(run, signals, LIST, "", "", 0, 0, 0, NULL, P_RUN, CHK_NONE,
    "Signal labels fed to the model, in order; empty: the model's labels, else every signal at the stream rate up to the model's maximum.")
ICTAL_CFG_KEY(run, formats, LIST, "console", "", 0, 0, 0, "console|json|csv_bi", P_RUN, CHK_NONE,
    "Event outputs: console, JSON Lines, CSV_BI (any combination).")
ICTAL_CFG_KEY(run, output, STRING, "", "path", 0, 0, 0, NULL, P_RUN, CHK_NONE,
    "Path prefix of the json/csv_bi outputs (.jsonl, .csv_bi added; - : standard output); empty: the input's name without extension plus .ictal, in the current directory.")
ICTAL_CFG_KEY(run, report, STRING, "", "path", 0, 0, 0, NULL, P_RUN, CHK_NONE,
    "Directory for the report files (summary, configuration, model, latency), created if missing; empty: none.")
ICTAL_CFG_KEY(run, chunk, INT, "0", "samples", 0, 16777216, RMIN | RMAX, NULL, P_RUN, CHK_NONE,
    "Feed the pipeline in chunks of this many samples (0: one data record; 64 with check); results do not depend on it.")
ICTAL_CFG_KEY(run, check, BOOL, "false", "", 0, 0, 0, NULL, P_RUN, CHK_NONE,
    "Also process the file in one block and compare frame by frame with the chunked run (streaming_alignment.json).")
ICTAL_CFG_KEY(run, progress, ENUM, "auto", "", 0, 0, 0, "auto|always|never", P_RUN, CHK_NONE,
    "Progress bar on stderr: auto (on a terminal, for recordings over 60 s), always, never.")

ICTAL_CFG_SECTION(synth, P_SYNTH,
    "`ictal-synth`, the generator of synthetic EEG with labelled seizures and artifacts.")
ICTAL_CFG_KEY(synth, output, STRING, "", "path", 0, 0, 0, NULL, P_SYNTH, CHK_NONE,
    "EDF+ file to write (sidecars go next to it); set this or dataset, not both.")
ICTAL_CFG_KEY(synth, dataset, STRING, "", "path", 0, 0, 0, NULL, P_SYNTH, CHK_NONE,
    "Directory for a patient data set: `files` recordings SUBJECT_NN.edf and SUBJECT-summary.txt; set this or output.")
ICTAL_CFG_KEY(synth, files, INT, "3", "", 1, 999, RMIN | RMAX, NULL, P_SYNTH, CHK_NONE,
    "Recordings in a data set (see dataset).")
ICTAL_CFG_KEY(synth, subject, STRING, "", "", 0, 0, 0, NULL, P_SYNTH, CHK_NONE,
    "Patient code in the EDF+ header (1..32 characters, no blanks or '/'); empty: synthetic, or synNN (the patient seed) in a data set.")
ICTAL_CFG_KEY(synth, duration, DURATION, "3600", "s", 1, 86400, RMIN | RMAX, NULL, P_SYNTH, CHK_NONE,
    "Length of the generated recording, in whole seconds (1 s EDF data records).")
ICTAL_CFG_KEY(synth, rate, INT, "256", "Hz", 128, 2048, RMIN | RMAX, NULL, P_SYNTH, CHK_NONE,
    "Sample rate of the generated recording.")
ICTAL_CFG_KEY(synth, montage, ENUM, "chbmit", "", 0, 0, 0, "chbmit|referential", P_SYNTH, CHK_NONE,
    "Channel set: CHB-MIT double banana (23) or referential 10-20 (19).")
ICTAL_CFG_KEY(synth, seizures, INT, "1", "", 0, 1000, RMIN | RMAX, NULL, P_SYNTH, CHK_NONE,
    "Number of seizures per recording.")
ICTAL_CFG_KEY(synth, seed, INT, "1", "", 0, 4294967295.0, RMIN | RMAX, NULL, P_SYNTH, CHK_NONE,
    "Recording seed; the same seeds and settings give a byte-identical file.")
ICTAL_CFG_KEY(synth, patient, INT, "0", "", 0, 4294967295.0, RMIN | RMAX, NULL, P_SYNTH, CHK_NONE,
    "Patient seed: fixes onset zone, seizure style and mains frequency; 0: the recording seed.")
ICTAL_CFG_KEY(synth, seizure_type, ENUM, "profile", "", 0, 0, 0, "profile|focal|absence", P_SYNTH, CHK_NONE,
    "Seizure style: the patient's (profile), focal, or generalised absence.")
ICTAL_CFG_KEY(synth, seizure_min, DURATION, "0", "s", 0, 86400, RMIN | RMAX, NULL, P_SYNTH, CHK_NONE,
    "Shortest seizure, at least 3 s; 0: the patient's.")
ICTAL_CFG_KEY(synth, seizure_max, DURATION, "0", "s", 0, 86400, RMIN | RMAX, NULL, P_SYNTH, CHK_NONE,
    "Longest seizure, at least 3 s and at least seizure_min; 0: the patient's.")
ICTAL_CFG_KEY(synth, artifacts, DOUBLE, "1", "per min", 0, 60, RMIN | RMAX, NULL, P_SYNTH, CHK_NONE,
    "Artifacts per minute; 0: none.")
ICTAL_CFG_KEY(synth, artifact_kinds, LIST, "blink, eyemove, muscle, chew, pop, mains, movement, flat, clip",
    "", 0, 0, 0, "blink|eyemove|muscle|chew|pop|mains|movement|flat|clip", P_SYNTH, CHK_NONE,
    "Kinds of artifact drawn from.")
ICTAL_CFG_KEY(synth, mains, ENUM, "auto", "Hz", 0, 0, 0, "auto|50|60", P_SYNTH, CHK_NONE,
    "Mains frequency of interference artifacts and hum; auto: the patient's.")
ICTAL_CFG_KEY(synth, hum, DOUBLE, "0", "µV", 0, 1000, RMIN | RMAX, NULL, P_SYNTH, CHK_NONE,
    "Amplitude of a continuous mains hum on every channel; 0: none.")
ICTAL_CFG_KEY(synth, sleep, BOOL, "true", "", 0, 0, 0, NULL, P_SYNTH, CHK_NONE,
    "Include drowsy and sleep stretches.")
ICTAL_CFG_KEY(synth, start, STRING, "2020-01-01T09:00:00", "", 0, 0, 0, NULL, P_SYNTH, CHK_NONEMPTY,
    "Recording start date and time, YYYY-MM-DDTHH:MM:SS, year 1985..2084 (EDF's range).")
ICTAL_CFG_KEY(synth, sidecars, BOOL, "true", "", 0, 0, 0, NULL, P_SYNTH, CHK_NONE,
    "Write the CSV_BI, CSV and events.tsv annotation sidecars next to the EDF+ file.")

ICTAL_CFG_SECTION(score, P_SCORE,
    "`ictal-score`, hypothesis vs reference annotations (SzCORE event and sample scoring, NEDC OVLP, "
    "detection latency; docs/scoring.md).")
ICTAL_CFG_KEY(score, metrics, LIST, "szcore_event, szcore_sample, ovlp, latency", "", 0, 0, 0,
    "szcore_event|szcore_sample|ovlp|latency", P_SCORE, CHK_NONE,
    "Scores to compute and print.")
ICTAL_CFG_KEY(score, pre_tolerance, DURATION, "30", "s", 0, 3600, RMIN | RMAX, NULL, P_SCORE, CHK_NONE,
    "SzCORE event scoring and latency: a reference event's window opens this long before its onset.")
ICTAL_CFG_KEY(score, post_tolerance, DURATION, "60", "s", 0, 3600, RMIN | RMAX, NULL, P_SCORE, CHK_NONE,
    "SzCORE event scoring and latency: the window closes this long after the reference offset.")
ICTAL_CFG_KEY(score, merge_gap, DURATION, "90", "s", 0, 3600, RMIN | RMAX, NULL, P_SCORE, CHK_NONE,
    "SzCORE event scoring: events (reference and hypothesis) closer than this are merged.")
ICTAL_CFG_KEY(score, max_event, DURATION, "300", "s", 0, 86400, RMINX | RMAX, NULL, P_SCORE, CHK_NONE,
    "SzCORE event scoring: events longer than this are split, after merging.")
ICTAL_CFG_KEY(score, sample_step, DURATION, "1", "s", 0, 60, RMINX | RMAX, NULL, P_SCORE, CHK_NONE,
    "SzCORE label length: events are rasterised on labels this long (sample scoring counts them).")
ICTAL_CFG_KEY(score, format, ENUM, "text", "", 0, 0, 0, "text|json", P_SCORE, CHK_NONE,
    "Output: tables for people, or one JSON document.")
ICTAL_CFG_KEY(score, output, STRING, "", "path", 0, 0, 0, NULL, P_SCORE, CHK_NONE,
    "Write the scores to this file; empty or - : standard output.")
ICTAL_CFG_KEY(score, implausible, ENUM, "error", "", 0, 0, 0, "error|clip", P_SCORE, CHK_NONE,
    "An annotated seizure outside its recording (e.g. ending after it): an error, or cut to the recording with a warning.")
ICTAL_CFG_KEY(score, missing, ENUM, "error", "", 0, 0, 0, "error|empty|skip", P_SCORE, CHK_NONE,
    "Directory mode: a reference recording without a hypothesis is an error, scored as an empty hypothesis (as SzCORE does), or skipped.")
ICTAL_CFG_KEY(score, subject_sep, STRING, "_-", "", 0, 0, 0, NULL, P_SCORE, CHK_NONE,
    "Without a BIDS sub-XX or a data set's own subject, a recording's subject is its name up to the first of these characters.")

/* ---- shared ------------------------------------------------------------ */

ICTAL_CFG_SECTION(pipeline, P_DETECT | P_RUN,
    "The pipeline before inference, shared by `ictal-detect` and `ictal-run`: input guard, "
    "rate conversion, pre-filter. The model file may set the pre-filter keys.")
ICTAL_CFG_KEY(pipeline, resampler, ENUM, "sinc_medium", "", 0, 0, 0,
    "sinc_best|sinc_medium|sinc_fastest|zero_order_hold|linear", P_DETECT | P_RUN, CHK_NONE,
    "libsamplerate converter from the input rate to the model rate (sinc_best costs too much at 48 kHz for a real-time period).")
ICTAL_CFG_KEY(pipeline, highpass, DOUBLE, "0.5", "Hz", 0, 1000, RMIN | RMAX, NULL, P_DETECT | P_RUN, CHK_NONE,
    "Pre-filter high-pass corner; 0: off.")
ICTAL_CFG_KEY(pipeline, lowpass, DOUBLE, "0", "Hz", 0, 10000, RMIN | RMAX, NULL, P_DETECT | P_RUN, CHK_NONE,
    "Pre-filter low-pass corner; 0: off. Must lie above highpass.")
ICTAL_CFG_KEY(pipeline, notch, DOUBLE, "50", "Hz", 0, 1000, RMIN | RMAX, NULL, P_DETECT | P_RUN, CHK_NONE,
    "Mains notch frequency (50 or 60 where you are); 0: off.")
ICTAL_CFG_KEY(pipeline, notch_q, DOUBLE, "30", "", 0.5, 1000, RMIN | RMAX, NULL, P_DETECT | P_RUN, CHK_NONE,
    "Quality factor of the notch (centre frequency / bandwidth).")
ICTAL_CFG_KEY(pipeline, flat_uv, DOUBLE, "1", "µV", 0, 1e6, RMIN | RMAX, NULL, P_DETECT | P_RUN, CHK_NONE,
    "A channel whose peak-to-peak stays below this for flat_duration is flagged flat.")
ICTAL_CFG_KEY(pipeline, flat_duration, DURATION, "5", "s", 0, 3600, RMIN | RMAX, NULL, P_DETECT | P_RUN, CHK_NONE,
    "How long a channel must stay flat to be flagged.")
ICTAL_CFG_KEY(pipeline, clip_uv, DOUBLE, "0", "µV", 0, 1e6, RMIN | RMAX, NULL, P_DETECT | P_RUN, CHK_NONE,
    "Samples at or beyond ±clip_uv count as clipped; 0: off.")
ICTAL_CFG_KEY(pipeline, implausible_uv, DOUBLE, "3000", "µV", 0, 1e7, RMINX | RMAX, NULL, P_DETECT | P_RUN, CHK_NONE,
    "Amplitudes beyond ±implausible_uv flag the channel as implausible.")
ICTAL_CFG_KEY(pipeline, mask_bad_channels, BOOL, "true", "", 0, 0, 0, NULL, P_DETECT | P_RUN, CHK_NONE,
    "Leave flagged channels out of the cross-channel decision.")
ICTAL_CFG_KEY(pipeline, min_good_channels, INT, "1", "", 1, 1024, RMIN | RMAX, NULL, P_DETECT | P_RUN, CHK_NONE,
    "Fewer good channels than this: no decision (probability 0, reported).")

ICTAL_CFG_SECTION(postproc, P_DETECT | P_RUN,
    "Post-processing at frame rate, shared by `ictal-detect` and `ictal-run`. The model file's "
    "`postproc` defaults use the same names (durations in seconds, counts in frames).")
ICTAL_CFG_KEY(postproc, threshold_on, DOUBLE, "0.5", "", 0, 1, RMIN | RMAX, NULL, P_DETECT | P_RUN, CHK_NONE,
    "Hysteresis: a frame at or above this probability counts towards an onset.")
ICTAL_CFG_KEY(postproc, threshold_off, DOUBLE, "0.35", "", 0, 1, RMIN | RMAX, NULL, P_DETECT | P_RUN, CHK_NONE,
    "Hysteresis: a frame below this counts towards an offset; at most threshold_on.")
ICTAL_CFG_KEY(postproc, n_on, INT, "2", "frames", 1, 100000, RMIN | RMAX, NULL, P_DETECT | P_RUN, CHK_NONE,
    "Consecutive frames at or above threshold_on that switch the detector on.")
ICTAL_CFG_KEY(postproc, n_off, INT, "4", "frames", 1, 100000, RMIN | RMAX, NULL, P_DETECT | P_RUN, CHK_NONE,
    "Consecutive frames below threshold_off that switch it off.")
ICTAL_CFG_KEY(postproc, opening, DURATION, "1", "s", 0, 3600, RMIN | RMAX, NULL, P_DETECT | P_RUN, CHK_NONE,
    "Morphological opening: removes ictal runs shorter than this; 0: off.")
ICTAL_CFG_KEY(postproc, closing, DURATION, "2", "s", 0, 3600, RMIN | RMAX, NULL, P_DETECT | P_RUN, CHK_NONE,
    "Morphological closing (after the opening): fills gaps shorter than this; 0: off.")
ICTAL_CFG_KEY(postproc, min_duration, DURATION, "5", "s", 0, 86400, RMIN | RMAX, NULL, P_DETECT | P_RUN, CHK_NONE,
    "Events shorter than this are dropped (an alarmed one is cancelled).")
ICTAL_CFG_KEY(postproc, merge_gap, DURATION, "10", "s", 0, 86400, RMIN | RMAX, NULL, P_DETECT | P_RUN, CHK_NONE,
    "Events separated by less than this are merged.")
ICTAL_CFG_KEY(postproc, max_duration, DURATION, "300", "s", 0, 86400, RMINX | RMAX, NULL, P_DETECT | P_RUN, CHK_NONE,
    "Events longer than this are split into segments; at least min_duration.")
ICTAL_CFG_KEY(postproc, confidence, ENUM, "mean", "", 0, 0, 0, "mean|peak|percentile", P_DETECT | P_RUN, CHK_NONE,
    "Event confidence: mean, peak or a percentile of the probabilities inside it.")
ICTAL_CFG_KEY(postproc, confidence_percentile, DOUBLE, "90", "%", 0, 100, RMIN | RMAX, NULL, P_DETECT | P_RUN, CHK_NONE,
    "The percentile used when confidence = percentile.")

ICTAL_CFG_SECTION(osc, P_DETECT | P_LOG,
    "OSC transport between `ictal-detect` (sender) and `ictal-log` (receiver).")
ICTAL_CFG_KEY(osc, protocol, ENUM, "udp", "", 0, 0, 0, "udp|tcp", P_DETECT, CHK_NONE,
    "Transport of ictal-detect's default target (ictal-log serves both: logger.transports).")
ICTAL_CFG_KEY(osc, host, STRING, "127.0.0.1", "", 0, 0, 0, NULL, P_DETECT | P_LOG, CHK_NONEMPTY,
    "Address ictal-log binds to (localhost unless told otherwise).")
ICTAL_CFG_KEY(osc, port, INT, "9900", "", 1, 65535, RMIN | RMAX, NULL, P_DETECT | P_LOG, CHK_NONE,
    "Port ictal-log listens on.")
ICTAL_CFG_KEY(osc, targets, LIST, "", "", 0, 0, 0, NULL, P_DETECT, CHK_HOSTPORT,
    "Where ictal-detect sends (host:port or osc.udp://host:port/); empty: host and port above.")
ICTAL_CFG_KEY(osc, prob_rate, DOUBLE, "4", "Hz", 0, 1000, RMIN | RMAX, NULL, P_DETECT, CHK_NONE,
    "Most /ictal/prob messages per second; 0: none sent.")
ICTAL_CFG_KEY(osc, status_interval, DURATION, "1", "s", 0.1, 60, RMIN | RMAX, NULL, P_DETECT, CHK_NONE,
    "Period of the /ictal/status heartbeat.")

ICTAL_CFG_SECTION(jack, P_DETECT | P_PLAY,
    "The JACK server the real-time clients join.")
ICTAL_CFG_KEY(jack, server, STRING, "", "", 0, 0, 0, NULL, P_DETECT | P_PLAY, CHK_NONE,
    "JACK server name; empty: $JACK_DEFAULT_SERVER, else the default server.")
ICTAL_CFG_KEY(jack, start_server, BOOL, "false", "", 0, 0, 0, NULL, P_DETECT | P_PLAY, CHK_NONE,
    "Let libjack start a server when none runs (otherwise JackNoStartServer).")

ICTAL_CFG_SECTION(rt, P_DETECT | P_PLAY,
    "Real-time behaviour of the JACK clients.")
ICTAL_CFG_KEY(rt, mlockall, BOOL, "true", "", 0, 0, 0, NULL, P_DETECT | P_PLAY, CHK_NONE,
    "Lock all memory (mlockall) before activation so the RT thread never page-faults.")
ICTAL_CFG_KEY(rt, flush_denormals, BOOL, "true", "", 0, 0, 0, NULL, P_DETECT, CHK_NONE,
    "Set flush-to-zero/denormals-are-zero on the RT thread.")
ICTAL_CFG_KEY(rt, warmup_cycles, INT, "8", "periods", 0, 100000, RMIN | RMAX, NULL, P_DETECT, CHK_NONE,
    "Periods of silence run through the pipeline before activation (warms caches and BLAS).")
ICTAL_CFG_KEY(rt, event_queue, INT, "1024", "records", 16, 1048576, RMIN | RMAX, NULL, P_DETECT, CHK_NONE,
    "Capacity of the event ring (sized never to fill).")
ICTAL_CFG_KEY(rt, telemetry_queue, INT, "8192", "records", 16, 1048576, RMIN | RMAX, NULL, P_DETECT, CHK_NONE,
    "Capacity of the lossy telemetry ring (probabilities, statistics); drops are counted.")
ICTAL_CFG_KEY(rt, load_warn, DOUBLE, "80", "%", 1, 100, RMIN | RMAX, NULL, P_DETECT | P_PLAY, CHK_NONE,
    "Warn when the callback uses more than this share of the period.")

ICTAL_CFG_SECTION(log, P_ALL,
    "Diagnostics every ictal program prints about itself (not the seizure events: "
    "those are `[logger]`'s business).")
ICTAL_CFG_KEY(log, level, ENUM, "info", "", 0, 0, 0, "error|warning|info|debug", P_ALL, CHK_NONE,
    "Least severe message printed.")
ICTAL_CFG_KEY(log, target, ENUM, "stderr", "", 0, 0, 0, "stderr|syslog", P_ALL, CHK_NONE,
    "Where diagnostics go (under systemd, stderr reaches the journal).")
ICTAL_CFG_KEY(log, timestamps, BOOL, "false", "", 0, 0, 0, NULL, P_ALL, CHK_NONE,
    "Prefix each diagnostic with the wall-clock time.")
ICTAL_CFG_KEY(log, color, ENUM, "auto", "", 0, 0, 0, "auto|always|never", P_ALL, CHK_NONE,
    "Colour diagnostics: auto (only on a terminal), always, never.")
