/* A small pool of threads for blocking work (downloads, git, extraction,
 * hashing). The loop thread submits; a worker runs work(data); the loop
 * thread then runs done(data) after an eventfd wake-up. Workers never touch
 * daemon state: they get a private copy in data. */
#pragma once

#include <systemd/sd-event.h>

#define WORKPOOL_QUEUE_MAX 1024 /* pending items; beyond that submit says -EAGAIN */

struct workpool;
typedef void (*workpool_fn)(void *data);

int workpool_new(sd_event *e, unsigned nthreads, struct workpool **ret);
/* work runs on a worker thread, done on the loop thread (may be NULL). */
int workpool_submit(struct workpool *p, workpool_fn work, workpool_fn done, void *data);
/* Waits for running items, runs remaining done callbacks, joins threads. */
struct workpool *workpool_free(struct workpool *p);
unsigned workpool_pending(struct workpool *p);
