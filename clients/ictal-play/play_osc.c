/*
 * play_osc.c — ictal-play's OSC thread: turns the annotation notes the
 * process thread pushes (annotation index + jack time of the sample) into
 * /ictal/annotation messages (docs/osc.md), each in a bundle whose timetag is
 * the wall-clock time of that sample, and sends them to every target. liblo
 * allocates on every send, so it lives only here.
 */
#include "play.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lo/lo.h>

#include "osc_proto.h"

struct play_osc {
    struct play_shared *sh;
    lo_address *addr;
    char **names;
    size_t n;
    char *source, *file;
    uint64_t sent, failed;
};

void play_osc_destroy(struct play_osc *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n; i++) {
        if (o->addr[i])
            lo_address_free(o->addr[i]);
        free(o->names[i]);
    }
    free(o->addr);
    free(o->names);
    free(o->source);
    free(o->file);
    free(o);
}

/* "host:port" or an osc.udp:// / osc.tcp:// URL. */
static lo_address target_address(const char *t)
{
    if (strstr(t, "://"))
        return lo_address_new_from_url(t);
    const char *colon = strrchr(t, ':');
    if (!colon || colon == t)
        return NULL;
    char host[256];
    size_t hl = (size_t)(colon - t);
    if (hl >= sizeof host)
        return NULL;
    memcpy(host, t, hl);
    host[hl] = '\0';
    return lo_address_new(host, colon + 1);
}

struct play_osc *play_osc_create(struct play_shared *sh, const char *const *targets, size_t n,
                                 const char *source, const char *file, char *why, size_t why_cap)
{
    struct play_osc *o = calloc(1, sizeof *o);
    if (!o) {
        snprintf(why, why_cap, "out of memory");
        return NULL;
    }
    o->sh = sh;
    o->addr = calloc(n ? n : 1, sizeof *o->addr);
    o->names = calloc(n ? n : 1, sizeof *o->names);
    o->source = strdup(source);
    o->file = strdup(file);
    if (!o->addr || !o->names || !o->source || !o->file) {
        snprintf(why, why_cap, "out of memory");
        play_osc_destroy(o);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        o->n = i + 1;
        o->names[i] = strdup(targets[i]);
        o->addr[i] = target_address(targets[i]);
        if (!o->names[i] || !o->addr[i]) {
            snprintf(why, why_cap, "--osc %s: not host:port or osc.udp://host:port/ "
                     "(or the host is unknown)", targets[i]);
            play_osc_destroy(o);
            return NULL;
        }
    }
    return o;
}

void play_osc_counts(const struct play_osc *o, uint64_t *sent, uint64_t *failed)
{
    *sent = o ? o->sent : 0;
    *failed = o ? o->failed : 0;
}

static double realtime_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void send_note(struct play_osc *o, const struct play_note *nt)
{
    const struct play_annot *a = &o->sh->annots[nt->annot];
    /* jack time → wall clock, never in the future (liblo receivers would
     * hold a bundle until its time) */
    double now = realtime_s();
    double t = now + (double)(nt->usecs - (int64_t)jack_get_time()) * 1e-6;
    if (t > now)
        t = now;
    struct osc_annotation msg = { o->source, o->file, a->onset_s, a->duration_s, a->text };
    for (size_t i = 0; i < o->n; i++) {
        lo_message m = osc_proto_annotation_message(&msg);
        lo_bundle b = m ? lo_bundle_new(osc_proto_timetag(t)) : NULL;
        if (!m || !b) {
            if (m)
                lo_message_free(m);
            o->failed++;
            continue;
        }
        if (lo_bundle_add_message(b, osc_proto_address(OSC_MSG_ANNOTATION), m) != 0) {
            lo_message_free(m);
            lo_bundle_free(b);
            o->failed++;
            continue;
        }
        if (lo_send_bundle(o->addr[i], b) < 0)
            o->failed++;
        else
            o->sent++;
        lo_bundle_free_recursive(b);
    }
}

void *play_osc_thread(void *arg)
{
    struct play_osc *o = arg;
    struct play_shared *sh = o->sh;
    for (;;) {
        struct play_note nt;
        bool any = false;
        while (ictal_ring_pop(sh->notes, &nt) == 0) {
            any = true;
            if (nt.annot < sh->n_annots)
                send_note(o, &nt);
        }
        if (!any && atomic_load_explicit(&sh->quit, memory_order_acquire))
            break;
        if (!any)
            play_wait(&sh->osc_wake, 200);
    }
    return NULL;
}
