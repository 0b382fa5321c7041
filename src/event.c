/*
 * event.c — names for the fields of struct ictal_event (ictal/event.h).
 * Everything here is RT-safe: no allocation, no stdio (snprintf may take a
 * locale lock in some C libraries), just copying bytes.
 */
#include "ictal/event.h"

const char *ictal_event_kind_name(enum ictal_event_kind kind)
{
    switch (kind) {
    case ICTAL_EVENT_ALARM:  return "alarm";
    case ICTAL_EVENT_CANCEL: return "cancel";
    case ICTAL_EVENT_FINAL:  return "final";
    }
    return "unknown";
}

const char *ictal_confidence_name(enum ictal_confidence method)
{
    switch (method) {
    case ICTAL_CONFIDENCE_MEAN:       return "mean";
    case ICTAL_CONFIDENCE_PEAK:       return "peak";
    case ICTAL_CONFIDENCE_PERCENTILE: return "percentile";
    }
    return "unknown";
}

/* The record's own flags first (what a reader looks for), then the frame
 * flags in bit order; the header's example is "segmented|xrun". */
static const struct {
    uint32_t bit;
    const char *name;
} flag_names[] = {
    { ICTAL_EVENT_SEGMENTED, "segmented" },
    { ICTAL_EVENT_FLUSHED, "flushed" },
    { ICTAL_FRAME_XRUN, "xrun" },
    { ICTAL_FRAME_BAD_CHANNEL, "bad_channel" },
    { ICTAL_FRAME_NO_DECISION, "no_decision" },
    { ICTAL_FRAME_SCRUBBED, "scrubbed" },
};

const char *ictal_event_flags_string(uint32_t flags, char *buf, size_t cap)
{
    if (!buf)
        return "";
    if (cap == 0)
        return buf;
    /* Like snprintf: cut at cap - 1 bytes, always terminated. */
    size_t n = 0;
    for (size_t i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++) {
        if (!(flags & flag_names[i].bit))
            continue;
        if (n > 0 && n + 1 < cap)
            buf[n++] = '|';
        for (const char *s = flag_names[i].name; *s && n + 1 < cap; s++)
            buf[n++] = *s;
    }
    buf[n] = '\0';
    return buf;
}

uint32_t ictal_event_flags_parse(const char *names, int *unknown)
{
    uint32_t bits = 0;
    int n_unknown = 0;
    const char *s = names ? names : "";
    while (*s) {
        const char *end = s;
        while (*end && *end != '|')
            end++;
        size_t len = (size_t)(end - s);
        if (len > 0) {
            size_t i;
            for (i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++) {
                const char *name = flag_names[i].name;
                size_t k = 0;
                while (k < len && name[k] == s[k])
                    k++;
                if (k == len && name[k] == '\0')
                    break;
            }
            if (i < sizeof flag_names / sizeof flag_names[0])
                bits |= flag_names[i].bit;
            else
                n_unknown++;
        }
        s = *end ? end + 1 : end;
    }
    if (unknown)
        *unknown = n_unknown;
    return bits;
}
