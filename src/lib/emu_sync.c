/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The emulated PSP's background data sync.  A guest request's new message
 * counter is written to the journal as soon as the request authenticates; its
 * fdatasync then runs on this worker while the caller builds and signs the
 * report, and the caller waits for it before the response leaves.  The sync is
 * I/O wait, not CPU, so it overlaps the ECDSA signature even on one core.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "emu_internal.h"
#include "internal.h"

static void *worker(void *arg)
{
	emu_syncer *s = arg;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->job && !s->stop)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->job) {
			int fd = s->fd;
			pthread_mutex_unlock(&s->mu);
			int e = fdatasync(fd) == 0 ? 0 : errno;
			if (close(fd) != 0 && !e)
				e = errno;
			pthread_mutex_lock(&s->mu);
			s->result = e;
			s->job = false;
			s->done = true;
			pthread_cond_broadcast(&s->cv);
			continue;
		}
		break; /* stop, with no job left */
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

sa_status emu_syncer_init(emu_syncer *s, sa_error *err)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	SA_ENSURE(pthread_mutex_init(&s->mu, NULL) == 0, err, SA_ERR_NOMEM, "emulator: cannot create a mutex");
	if (pthread_cond_init(&s->cv, NULL) != 0) {
		pthread_mutex_destroy(&s->mu);
		return sa_error_set(err, SA_ERR_NOMEM, "emulator: cannot create a condition variable");
	}
	s->initialised = true;
	return SA_OK;
}

void emu_syncer_submit(emu_syncer *s, int fd)
{
	pthread_mutex_lock(&s->mu);
	if (!s->started && pthread_create(&s->thread, NULL, worker, s) == 0)
		s->started = true;
	if (!s->started) {
		/* No worker to be had: sync here; the result waits for emu_syncer_wait. */
		pthread_mutex_unlock(&s->mu);
		int e = fdatasync(fd) == 0 ? 0 : errno;
		if (close(fd) != 0 && !e)
			e = errno;
		pthread_mutex_lock(&s->mu);
		s->result = e;
		s->done = true;
	} else {
		s->fd = fd;
		s->job = true;
		s->done = false;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
}

int emu_syncer_wait(emu_syncer *s)
{
	pthread_mutex_lock(&s->mu);
	while (!s->done)
		pthread_cond_wait(&s->cv, &s->mu);
	s->done = false;
	int e = s->result;
	pthread_mutex_unlock(&s->mu);
	return e;
}

void emu_syncer_destroy(emu_syncer *s)
{
	if (!s->initialised)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (s->started)
		pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	s->initialised = false;
}
