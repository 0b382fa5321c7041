#include "prog_log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static struct {
    const char *prog;
    int level;
    bool syslog, timestamps, color;
} log_cfg = { "ictal", PROG_LOG_INFO, false, false, false };

void prog_log_setup(const char *prog, const struct ictal_config *cfg)
{
    log_cfg.prog = prog;
    /* enum indices follow the key table's choices (src/config_keys.h) */
    log_cfg.level = ictal_config_get_enum(cfg, "log", "level");       /* error|warning|info|debug */
    log_cfg.syslog = ictal_config_get_enum(cfg, "log", "target") == 1; /* stderr|syslog */
    log_cfg.timestamps = ictal_config_get_bool(cfg, "log", "timestamps");
    int color = ictal_config_get_enum(cfg, "log", "color");            /* auto|always|never */
    log_cfg.color = color == 1 || (color == 0 && isatty(STDERR_FILENO));
    if (log_cfg.level < PROG_LOG_ERROR)
        log_cfg.level = PROG_LOG_INFO;
    if (log_cfg.syslog)
        openlog(prog, LOG_PID, LOG_USER);
}

void prog_log_close(void)
{
    if (log_cfg.syslog)
        closelog();
    log_cfg.syslog = false;
}

void prog_log(enum prog_log_level level, const char *fmt, ...)
{
    static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
    if ((int)level > log_cfg.level)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (log_cfg.syslog) {
        syslog(syslog_prio[level], "%s", msg);
        return;
    }
    char stamp[40] = "";
    if (log_cfg.timestamps) {
        time_t now = time(NULL);
        struct tm tm;
        if (localtime_r(&now, &tm))
            strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S ", &tm);
    }
    const char *on = "", *off = "";
    if (log_cfg.color && level <= PROG_LOG_WARNING) {
        on = level == PROG_LOG_ERROR ? "\033[31m" : "\033[33m";
        off = "\033[0m";
    }
    fprintf(stderr, "%s%s%s: %s%s\n", stamp, on, log_cfg.prog, msg, off);
}
