#include <stdarg.h>
#include <time.h>
#include "core/log.h"

static bool verbose;
static bool journal;

void log_setup(bool v)
{
        verbose = v;
        journal = getenv("JOURNAL_STREAM") != NULL;
}

bool log_is_verbose(void)
{
        return verbose;
}

void log_msg(int prio, const char *fmt, ...)
{
        static const char *const names[] = {"emerg", "alert", "crit", "error",
                                            "warn",  "note",  "info", "debug"};
        char line[2048];
        int n;
        va_list ap;

        if (prio == LOG_DEBUG && !verbose)
                return;
        if (journal) {
                n = snprintf(line, sizeof(line), "<%d>", prio);
        } else {
                struct timespec ts;
                struct tm tm;
                clock_gettime(CLOCK_REALTIME, &ts);
                localtime_r(&ts.tv_sec, &tm);
                n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld %-5s ", tm.tm_hour,
                             tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, names[prio & 7]);
        }
        va_start(ap, fmt);
        n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
        va_end(ap);
        if (n > (int)sizeof(line) - 2)
                n = (int)sizeof(line) - 2;
        line[n++] = '\n';
        (void)!write(2, line, (size_t)n);
}
