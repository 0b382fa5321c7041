/*
 * ictal/error.h — error codes and error reports shared by every module.
 *
 * Convention (after PipeWire/SPA and libsamplerate): a function that can fail
 * returns an int, 0 on success or one of the negative ICTAL_E* codes below;
 * constructors return NULL and fill a struct ictal_error. The code says what
 * kind of failure it was (for programs to branch on); the message says what
 * exactly was wrong and where (file, field, byte offset, option) for people.
 *
 * On the real-time path nothing formats messages: errors there become counters
 * that the non-RT side reports.
 */
#ifndef ICTAL_ERROR_H
#define ICTAL_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    ICTAL_OK           =   0,
    ICTAL_ENOMEM       =  -1, /* allocation failed (only ever at creation) */
    ICTAL_EINVAL       =  -2, /* invalid argument or value */
    ICTAL_EIO          =  -3, /* read/write/open failed at the OS level */
    ICTAL_ENOENT       =  -4, /* no such file, channel, key or tensor */
    ICTAL_EFORMAT      =  -5, /* malformed file contents */
    ICTAL_EUNSUPPORTED =  -6, /* well-formed but not supported by ictal */
    ICTAL_ERANGE       =  -7, /* value out of range or size out of bounds */
    ICTAL_ESTATE       =  -8, /* call not valid in the object's current state */
    ICTAL_EAGAIN       =  -9, /* try again later: ring full/empty, server busy */
    ICTAL_ETIMEDOUT    = -10, /* waited too long for something external */
    ICTAL_ESERVER      = -11  /* an external server (JACK) failed or went away */
};

/* Longest message a report holds, terminating NUL included. Longer ones are cut. */
#define ICTAL_ERROR_MSG_MAX 512

/* A filled-in error report. Owned by the caller, usually on the stack. */
struct ictal_error {
    int code;                      /* ICTAL_E* (0 when no error) */
    char msg[ICTAL_ERROR_MSG_MAX]; /* one line, no trailing newline */
};

/* Static description of an ICTAL_E* code ("malformed file", ...). Never NULL.
 * RT-safe: yes. */
const char *ictal_strerror(int code);

/* Fill *err (which may be NULL) with code and a printf-style message; returns
 * code so that callers can write `return ictal_error_set(err, ICTAL_EINVAL, ...)`.
 * RT-safe: no (formats text). */
int ictal_error_set(struct ictal_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Reset *err (may be NULL) to "no error". RT-safe: yes. */
void ictal_error_clear(struct ictal_error *err);

#ifdef __cplusplus
}
#endif

#endif /* ICTAL_ERROR_H */
