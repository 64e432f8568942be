#include <pthread.h>
#include <sys/eventfd.h>
#include "core/macro.h"
#include "core/workpool.h"

struct item {
        struct item *next;
        workpool_fn work, done;
        void *data;
};

struct workpool {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        struct item *todo_head, *todo_tail; /* waiting for a worker */
        struct item *done_head, *done_tail; /* finished, waiting for the loop */
        unsigned pending;
        bool stopping;
        int efd;
        sd_event_source *src;
        pthread_t *threads;
        unsigned nthreads;
};

static void push(struct item **head, struct item **tail, struct item *it)
{
        it->next = NULL;
        if (*tail)
                (*tail)->next = it;
        else
                *head = it;
        *tail = it;
}

static struct item *pop(struct item **head, struct item **tail)
{
        struct item *it = *head;
        if (it) {
                *head = it->next;
                if (!*head)
                        *tail = NULL;
        }
        return it;
}

static void *worker(void *arg)
{
        struct workpool *p = arg;
        for (;;) {
                pthread_mutex_lock(&p->lock);
                while (!p->todo_head && !p->stopping)
                        pthread_cond_wait(&p->cond, &p->lock);
                struct item *it = pop(&p->todo_head, &p->todo_tail);
                pthread_mutex_unlock(&p->lock);
                if (!it)
                        return NULL; /* stopping and drained */
                it->work(it->data);
                pthread_mutex_lock(&p->lock);
                push(&p->done_head, &p->done_tail, it);
                pthread_mutex_unlock(&p->lock);
                uint64_t one = 1;
                (void)!write(p->efd, &one, sizeof(one));
        }
}

static void run_done(struct workpool *p)
{
        for (;;) {
                pthread_mutex_lock(&p->lock);
                struct item *it = pop(&p->done_head, &p->done_tail);
                if (it)
                        p->pending--;
                pthread_mutex_unlock(&p->lock);
                if (!it)
                        return;
                if (it->done)
                        it->done(it->data);
                free(it);
        }
}

static int on_event(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        uint64_t v;
        (void)!read(fd, &v, sizeof(v));
        run_done(userdata);
        return 0;
}

int workpool_new(sd_event *e, unsigned nthreads, struct workpool **ret)
{
        struct workpool *p = xcalloc(1, sizeof(*p));
        int r;

        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->cond, NULL);
        p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (p->efd < 0) {
                r = -errno;
                free(p);
                return r;
        }
        r = sd_event_add_io(e, &p->src, p->efd, EPOLLIN, on_event, p);
        if (r < 0) {
                close(p->efd);
                free(p);
                return r;
        }
        p->threads = xcalloc(nthreads, sizeof(pthread_t));
        for (unsigned i = 0; i < nthreads; i++) {
                r = pthread_create(&p->threads[i], NULL, worker, p);
                if (r != 0) {
                        workpool_free(p);
                        return -r;
                }
                p->nthreads++;
        }
        *ret = p;
        return 0;
}

int workpool_submit(struct workpool *p, workpool_fn work, workpool_fn done, void *data)
{
        pthread_mutex_lock(&p->lock);
        if (p->pending >= WORKPOOL_QUEUE_MAX || p->stopping) {
                pthread_mutex_unlock(&p->lock);
                return -EAGAIN;
        }
        struct item *it = xcalloc(1, sizeof(*it));
        it->work = work;
        it->done = done;
        it->data = data;
        push(&p->todo_head, &p->todo_tail, it);
        p->pending++;
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
        return 0;
}

unsigned workpool_pending(struct workpool *p)
{
        pthread_mutex_lock(&p->lock);
        unsigned n = p->pending;
        pthread_mutex_unlock(&p->lock);
        return n;
}

struct workpool *workpool_free(struct workpool *p)
{
        if (!p)
                return NULL;
        pthread_mutex_lock(&p->lock);
        p->stopping = true;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
        for (unsigned i = 0; i < p->nthreads; i++)
                pthread_join(p->threads[i], NULL);
        run_done(p);
        sd_event_source_disable_unref(p->src);
        close(p->efd);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
        free(p->threads);
        free(p);
        return NULL;
}
