#include "ictal/error.h"

#include <stdarg.h>
#include <stdio.h>

const char *ictal_strerror(int code)
{
    switch (code) {
    case ICTAL_OK:           return "success";
    case ICTAL_ENOMEM:       return "out of memory";
    case ICTAL_EINVAL:       return "invalid argument";
    case ICTAL_EIO:          return "input/output error";
    case ICTAL_ENOENT:       return "not found";
    case ICTAL_EFORMAT:      return "malformed file";
    case ICTAL_EUNSUPPORTED: return "not supported";
    case ICTAL_ERANGE:       return "value out of range";
    case ICTAL_ESTATE:       return "invalid state for this call";
    case ICTAL_EAGAIN:       return "resource temporarily unavailable";
    case ICTAL_ETIMEDOUT:    return "timed out";
    case ICTAL_ESERVER:      return "server failure";
    default:                 return "unknown error";
    }
}

int ictal_error_set(struct ictal_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void ictal_error_clear(struct ictal_error *err)
{
    if (err) {
        err->code = ICTAL_OK;
        err->msg[0] = '\0';
    }
}
