#include <sys/ioctl.h>
#include <unistd.h>
#include "cli/progress.h"
#include "core/macro.h"

struct progress {
        FILE *out;
        bool tty, drawn;
        int percent;
        char step[128];
        char msg[PROGRESS_TEXT_MAX];
        char last_plain[PROGRESS_TEXT_MAX + 160];
};

/* Bytes of s that hold at most max UTF-8 characters. */
static size_t utf8_prefix(const char *s, size_t max)
{
        size_t i = 0, chars = 0;
        while (s[i] && chars < max) {
                i++;
                while ((((unsigned char)s[i]) & 0xc0) == 0x80)
                        i++;
                chars++;
        }
        return i;
}

static size_t utf8_len(const char *s)
{
        size_t n = 0;
        for (; *s; s++)
                n += (((unsigned char)*s) & 0xc0) != 0x80;
        return n;
}

static void label(char *buf, size_t size, const char *step, const char *msg)
{
        if (step && *step && msg && *msg)
                snprintf(buf, size, "%s: %s", step, msg);
        else
                snprintf(buf, size, "%s", msg && *msg ? msg : step ? step : "");
        for (char *p = buf; *p; p++) /* one line only */
                if (*p == '\n' || *p == '\r' || *p == '\t')
                        *p = ' ';
}

size_t progress_render(char *buf, size_t size, int width, int percent, const char *step,
                       const char *msg)
{
        char text[PROGRESS_TEXT_MAX + 130];
        int pct = percent < 0 ? 0 : percent > 100 ? 100 : percent;
        int cols = width > 0 ? width - 1 : PROGRESS_WIDTH_DEFAULT - 1; /* never the last column */
        int bar = MIN(PROGRESS_BAR_WIDTH_MAX, MAX(cols / 3, 10));
        size_t n = 0;
        int fill = pct * bar / 100;

        if (size == 0)
                return 0;
        if (cols < bar + 7) { /* very narrow: just the number */
                n = (size_t)snprintf(buf, size, "%3d%%", pct);
                return MIN(n, size - 1);
        }
        char head[PROGRESS_BAR_WIDTH_MAX + 16];
        head[0] = '[';
        for (int i = 0; i < bar; i++)
                head[1 + i] = i < fill ? '#' : '-';
        snprintf(head + 1 + bar, sizeof(head) - 1 - (size_t)bar, "] %3d%%", pct);
        label(text, sizeof(text), step, msg);
        size_t room = (size_t)cols - utf8_len(head);
        if (text[0] && room > 1) {
                room -= 1; /* the space */
                if (utf8_len(text) > room) {
                        size_t keep = room > 3 ? utf8_prefix(text, room - 3) : 0;
                        snprintf(text + keep, sizeof(text) - keep, "%s", room > 3 ? "..." : "");
                }
                n = (size_t)snprintf(buf, size, "%s %s", head, text);
        } else
                n = (size_t)snprintf(buf, size, "%s", head);
        return MIN(n, size - 1);
}

size_t progress_render_plain(char *buf, size_t size, int percent, const char *step, const char *msg)
{
        char text[PROGRESS_TEXT_MAX + 130];
        int pct = percent < 0 ? 0 : percent > 100 ? 100 : percent;
        label(text, sizeof(text), step, msg);
        int n = snprintf(buf, size, "[%3d%%] %s", pct, text);
        if (n < 0 || size == 0)
                return 0;
        /* no trailing space for an empty label */
        size_t len = MIN((size_t)n, size - 1);
        while (len > 0 && buf[len - 1] == ' ')
                buf[--len] = 0;
        return len;
}

static int term_width(FILE *out)
{
        struct winsize ws;
        if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
                return ws.ws_col;
        return PROGRESS_WIDTH_DEFAULT;
}

struct progress *progress_new(FILE *out, int tty)
{
        struct progress *p = xcalloc(1, sizeof(*p));
        p->out = out;
        p->tty = tty < 0 ? isatty(fileno(out)) : tty != 0;
        return p;
}

static void clear_bar(struct progress *p)
{
        if (p->tty && p->drawn) {
                fputs("\r\033[K", p->out);
                p->drawn = false;
        }
}

static void draw(struct progress *p)
{
        char line[PROGRESS_TEXT_MAX + 160];
        if (p->tty) {
                progress_render(line, sizeof(line), term_width(p->out), p->percent, p->step,
                                p->msg);
                fprintf(p->out, "\r%s\033[K", line);
                p->drawn = true;
        } else {
                progress_render_plain(line, sizeof(line), p->percent, p->step, p->msg);
                if (streq(line, p->last_plain))
                        return; /* nothing new: keep logs short */
                snprintf(p->last_plain, sizeof(p->last_plain), "%s", line);
                fprintf(p->out, "%s\n", line);
        }
        fflush(p->out);
}

void progress_update(struct progress *p, int percent, const char *step, const char *msg)
{
        if (percent >= 0)
                p->percent = MIN(percent, 100);
        if (step)
                snprintf(p->step, sizeof(p->step), "%s", step);
        if (msg)
                snprintf(p->msg, sizeof(p->msg), "%s", msg);
        draw(p);
}

void progress_line(struct progress *p, const char *line)
{
        clear_bar(p);
        fprintf(p->out, "%s\n", line);
        if (p->tty)
                draw(p);
        else
                fflush(p->out);
}

void progress_finish(struct progress *p, const char *final_line)
{
        clear_bar(p);
        if (final_line)
                fprintf(p->out, "%s\n", final_line);
        fflush(p->out);
}

struct progress *progress_free(struct progress *p)
{
        free(p);
        return NULL;
}
