/*
 * prog_log.h — how ictal's programs print their own diagnostics.
 *
 * One implementation of the [log] section for every program (tools/ and
 * clients/): log.level filters, log.target picks stderr or syslog,
 * log.timestamps prefixes an ISO 8601 local time, log.color colours errors
 * and warnings on a terminal. Messages are one line, prefixed with the
 * program's name like other Unix tools ("ictal-synth: ...").
 *
 * Before prog_log_setup() (e.g. while the configuration itself is being read
 * and may be broken) messages go plainly to stderr at level info.
 *
 * RT-safe: no (formats text and writes to stderr/syslog). Programs with a
 * real-time thread log from their non-RT threads only.
 */
#ifndef ICTAL_PROG_LOG_H
#define ICTAL_PROG_LOG_H

#include "ictal/config.h"

enum prog_log_level {
    PROG_LOG_ERROR = 0, /* same order as the log.level choices */
    PROG_LOG_WARNING = 1,
    PROG_LOG_INFO = 2,
    PROG_LOG_DEBUG = 3
};

/* Apply the [log] keys of cfg (validated) for program `prog` (a static string,
 * kept). Opens syslog when log.target = syslog. */
void prog_log_setup(const char *prog, const struct ictal_config *cfg);

/* Close syslog if it was opened. */
void prog_log_close(void);

/* Print one message at `level` if log.level lets it through. */
void prog_log(enum prog_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#define prog_log_error(...) prog_log(PROG_LOG_ERROR, __VA_ARGS__)
#define prog_log_warning(...) prog_log(PROG_LOG_WARNING, __VA_ARGS__)
#define prog_log_info(...) prog_log(PROG_LOG_INFO, __VA_ARGS__)

#endif /* ICTAL_PROG_LOG_H */
