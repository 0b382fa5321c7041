/*
 * edf_internal.h — the EDF/BDF header validator used by edf.c before EDFlib.
 *
 * Why our own parser at all: EDFlib answers every malformation with one code
 * ("file contains format errors"). Users need to know which field of which
 * signal is wrong, so we parse the fixed and per-signal ASCII headers ourselves,
 * bounds-checked, and only hand a file to EDFlib once it passes. The checks
 * mirror EDFlib 1.23's acceptance rules where we know them (record size limits,
 * exact file size, printable ASCII, digital ranges).
 */
#ifndef ICTAL_EDF_INTERNAL_H
#define ICTAL_EDF_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "ictal/error.h"

/* EDFlib's limit on signals per file (EDFLIB_MAXSIGNALS). */
#define ICTAL_EDF_HDR_MAX_SIGNALS 640

/* One signal's header entry, as found in the file (strings trimmed). */
struct ictal_edf_hsig {
    char label[17];
    char transducer[81];
    char unit[9];
    char prefilter[81];
    double phys_min, phys_max;
    long dig_min, dig_max;
    long spr;          /* samples per data record, > 0 */
    bool annotation;   /* EDF+/BDF+ "EDF Annotations"/"BDF Annotations" signal */
};

/* The whole parsed header. Owned by the caller; free with _header_free. */
struct ictal_edf_header {
    bool bdf;            /* 24-bit samples (version 0xFF "BIOSEMI") */
    bool plus;           /* EDF+/BDF+ (reserved field starts EDF+C/BDF+C) */
    char patient[81];    /* raw local patient field, trimmed */
    char recording[81];  /* raw local recording field, trimmed */
    char reserved[45];
    long header_bytes;
    long ns;             /* signals in the file, annotation signals included */
    long n_annotation;   /* how many of them are annotation signals */
    int64_t records;     /* declared (and verified present) data records */
    double record_duration_s;
    int64_t record_bytes;
    int64_t file_size;
    struct ictal_edf_hsig *sig; /* (ns) */
};

/* Validate the file at path and fill *h. On failure returns a negative
 * ICTAL_E* code with a message naming the file, the field, and where it helps
 * the signal, byte offset and bad value; *h is then empty (nothing to free).
 * RT-safe: no (file I/O, allocation). */
int ictal_edf_header_check(const char *path, struct ictal_edf_header *h,
                           struct ictal_error *err);

/* Release what _check allocated; safe on a zeroed or already-freed header. */
void ictal_edf_header_free(struct ictal_edf_header *h);

/* Parse a decimal number "[+-]digits[.digits][e[+-]digits]" without the C
 * library's locale-dependent strtod (a host that calls setlocale(LC_ALL, "")
 * with a decimal comma must not break EDF parsing). Returns 0 or -1. */
int ictal_edf_parse_double(const char *s, double *out);

#endif /* ICTAL_EDF_INTERNAL_H */
