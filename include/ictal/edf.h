/*
 * ictal/edf.h — EDF / EDF+C / BDF / BDF+C reader on top of EDFlib.
 *
 * A reader opens one recording, describes it (recording info, data signals,
 * annotations, signals skipped by the default selection), lets the caller pick
 * and order channels by label, and reads physical samples (the file's units,
 * e.g. uV) as float32 planar buffers, randomly or sequentially, in chunks of
 * any size. Chunking never changes the values: any split of a span reads
 * bit-identically to one whole read.
 *
 * Threads: EDFlib keeps process-global handle tables and is not thread-safe.
 * Use every reader (all functions here) from ONE non-real-time thread of the
 * process; never from a JACK process callback: open/select/read do file I/O
 * (the accessors that only return fields are marked RT-safe, but they still
 * belong to that one thread). EDFlib also refuses to open a file that is
 * already open in this process (ICTAL_ESTATE). All functions except _open
 * and _close require a non-NULL reader.
 *
 * Before EDFlib sees a file, the header is validated by ictal itself so that
 * every malformation gets a message naming the file, the field and where it
 * helps the signal, byte offset and value (see docs/edf.md for the list).
 *
 * Rate policy: the *stream rate* is the sample rate shared by the most data
 * signals (a tie goes to the higher rate). The default selection is every data
 * signal at the stream rate, in file order; the others are listed by
 * ictal_edf_skipped() with a reason. An explicit selection must be uniform-rate:
 * rate conversion is the pipeline's job, not the reader's.
 *
 * Label policy: see ictal_edf_select().
 */
#ifndef ICTAL_EDF_H
#define ICTAL_EDF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ictal/error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ictal_edf;

enum ictal_edf_type {
    ICTAL_EDF_TYPE_EDF = 0,      /* plain EDF, 16-bit */
    ICTAL_EDF_TYPE_EDFPLUS_C = 1, /* EDF+ continuous */
    ICTAL_EDF_TYPE_BDF = 2,      /* plain BDF, 24-bit */
    ICTAL_EDF_TYPE_BDFPLUS_C = 3  /* BDF+ continuous */
};

/* Time values in 100 ns units are EDFlib's (EDFLIB_TIME_DIMENSION = 1e7/s). */
#define ICTAL_EDF_TIME_UNITS_PER_S 10000000LL

struct ictal_edf_info {
    enum ictal_edf_type type;
    const char *type_name;       /* "EDF", "EDF+C", "BDF", "BDF+C" (static) */
    int year, month, day;        /* start date (year 1985..2084 per the spec) */
    int hour, minute, second;    /* start time */
    int64_t start_subsecond_100ns; /* EDF+/BDF+ only, else 0; < 1e7 */
    int64_t duration_100ns;      /* records * record duration */
    double duration_s;
    int64_t records;             /* data records in the file */
    int64_t record_duration_100ns;
    double record_duration_s;
    /* Raw header fields (any type), trimmed: */
    char patient[81];
    char recording[81];
    /* EDF+/BDF+ subfields as EDFlib splits them (empty for plain EDF/BDF): */
    char patient_code[81];
    char sex[16];
    char birthdate[16];
    char patient_name[81];
    char patient_additional[81];
    char admin_code[81];
    char technician[81];
    char equipment[81];
    char recording_additional[81];
    size_t n_signals;            /* data signals (annotation signals excluded) */
    size_t n_annotations;
};

/* One data signal (annotation signals are never data signals). */
struct ictal_edf_signal {
    char label[17];       /* as in the file, trailing spaces trimmed */
    char unit[9];         /* physical dimension, e.g. "uV" */
    char transducer[81];
    char prefilter[81];
    double rate;          /* Hz = samples per record / record duration */
    int samples_per_record;
    int64_t samples;      /* samples of this signal in the file */
    double phys_min, phys_max;
    int32_t dig_min, dig_max;
    size_t file_index;    /* 0-based position among all signals in the header */
    size_t index;         /* 0-based position among data signals (our index) */
};

/* A signal the default selection left out, and why. */
struct ictal_edf_skipped {
    size_t file_index;
    char label[17];
    char reason[128];     /* e.g. "rate 128 Hz differs from the stream rate 256 Hz" */
};

struct ictal_edf_annotation {
    int64_t onset_100ns;  /* from the file start */
    double onset_s;
    bool has_duration;    /* false when the file gave none */
    int64_t duration_100ns; /* 0 when !has_duration */
    double duration_s;
    char text[513];       /* UTF-8 */
};

/* Open and validate the file at path (the string is copied). Reads the header,
 * all annotations and sets the default selection; allocates all scratch memory
 * reading will need. On failure returns NULL and fills *err (may be NULL) with
 * the code and a message naming path:
 *   ICTAL_ENOENT no such file; ICTAL_EINVAL a directory / not a regular file;
 *   ICTAL_EFORMAT malformed header or data size; ICTAL_ERANGE values beyond
 *   the format's limits; ICTAL_EUNSUPPORTED EDF+D/BDF+D, > 640 signals;
 *   ICTAL_ESTATE already open in this process; ICTAL_EIO, ICTAL_ENOMEM.
 * RT-safe: no. */
struct ictal_edf *ictal_edf_open(const char *path, struct ictal_error *err);

/* Close the file and free everything. NULL is a no-op. Pointers returned by
 * the accessors below become invalid. RT-safe: no. */
void ictal_edf_close(struct ictal_edf *edf);

/* Recording info. Owned by the reader. RT-safe: yes (no I/O). */
const struct ictal_edf_info *ictal_edf_info(const struct ictal_edf *edf);

/* Data signal i (0 <= i < info->n_signals), else NULL. Owned by the reader.
 * RT-safe: yes. */
const struct ictal_edf_signal *ictal_edf_signal(const struct ictal_edf *edf, size_t i);

/* Signals not in the default selection (annotation signals, other rates), in
 * file order; fixed at open. _skipped returns NULL out of range. RT-safe: yes. */
size_t ictal_edf_skipped_count(const struct ictal_edf *edf);
const struct ictal_edf_skipped *ictal_edf_skipped(const struct ictal_edf *edf, size_t i);

/* Annotation i (0 <= i < info->n_annotations) in file order, else NULL. All
 * annotations (EDFLIB_READ_ALL_ANNOTATIONS) are read at open. RT-safe: yes. */
const struct ictal_edf_annotation *ictal_edf_annotation(const struct ictal_edf *edf, size_t i);

/* The stream rate of the file (see the rate policy above). RT-safe: yes. */
double ictal_edf_stream_rate(const struct ictal_edf *edf);

/* Select and order channels by label; n == 0 (labels may be NULL) restores
 * the default selection. Matching:
 *  - case- and whitespace-insensitive: "FP1-F7" matches "Fp1-F7", "FP1 - F7";
 *  - if nothing matches, a leading "EEG " type prefix is ignored on either side
 *    ("Fp1" finds Siena's "EEG Fp1", "FP1-REF" finds TUH's "EEG FP1-REF");
 *  - duplicate labels (identical in the file, like CHB-MIT's second "T8-P8"):
 *    the plain label means the first occurrence; "T8-P8#2" addresses the second
 *    (any "#k" suffix picks the k-th of the matching signals);
 *  - different file labels that normalise to the same key (e.g. "FP1" and
 *    "Fp1") are ambiguous unless one equals the query exactly: ICTAL_EINVAL
 *    naming the label and the candidates.
 * Errors (the selection is then unchanged): ICTAL_ENOENT for a label matching
 * nothing (the message lists the available labels); ICTAL_EINVAL for an
 * ambiguous label or a signal selected twice; ICTAL_EUNSUPPORTED when the
 * chosen signals have different rates (names the channel and both rates).
 * Resets the sequential position to 0. Does not allocate. RT-safe: no. */
int ictal_edf_select(struct ictal_edf *edf, const char *const *labels, size_t n,
                     struct ictal_error *err);

/* The current selection: count, i-th channel (NULL when out of range), its
 * common rate in Hz and its length in samples per channel (the shortest
 * selected signal; with one rate all are equal). RT-safe: yes. */
size_t ictal_edf_selected_count(const struct ictal_edf *edf);
const struct ictal_edf_signal *ictal_edf_selected(const struct ictal_edf *edf, size_t i);
double ictal_edf_rate(const struct ictal_edf *edf);
int64_t ictal_edf_length(const struct ictal_edf *edf);

/* Read n samples per selected channel starting at sample `start` into out[c]
 * (one float buffer of >= n per selected channel, in selection order), as
 * physical values. Returns the number of samples read per channel: n, fewer
 * at the end of the file, 0 when start == length. Negative ICTAL_E* on error:
 * ICTAL_EINVAL (NULL out, start < 0), ICTAL_ERANGE (start > length),
 * ICTAL_EIO (EDFlib read failure). Does not change the sequential position.
 * Does not allocate (scratch is sized at open). RT-safe: no (file I/O). */
int64_t ictal_edf_read(struct ictal_edf *edf, int64_t start, size_t n, float *const *out,
                       struct ictal_error *err);

/* Sequential reading: like ictal_edf_read at the current position, which then
 * advances by the count returned. RT-safe: no. */
int64_t ictal_edf_read_next(struct ictal_edf *edf, size_t n, float *const *out,
                            struct ictal_error *err);

/* Set the sequential position (0 <= pos <= length, else ICTAL_ERANGE) /
 * get it. RT-safe: yes (no I/O; EDFlib positions are set per read). */
int ictal_edf_seek(struct ictal_edf *edf, int64_t pos, struct ictal_error *err);
int64_t ictal_edf_tell(const struct ictal_edf *edf);

/* The pipeline works in µV. The factor from a signal's physical unit to µV:
 * "uV", "µV" (UTF-8 or Latin-1) 1, "mV" 1e3, "V" 1e6, "nV" 1e-3 (case
 * ignored); any other unit gives 1 and *known = false (callers warn and read
 * it as µV). RT-safe: yes. */
double ictal_edf_unit_to_uv(const char *unit, bool *known);

/* x[i] = (float)(x[i] * gain) for n samples, unless gain is 1. ictal-run and
 * ictal-play both convert through this, so they hand the pipeline the same
 * floats. RT-safe: yes. */
void ictal_edf_scale(float *x, size_t n, double gain);

#ifdef __cplusplus
}
#endif

#endif /* ICTAL_EDF_H */
