// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * connflood RATE SECONDS PORT [WARMUP]: a listener on 127.0.0.1:PORT that accepts
 * and closes, and a connector that opens and closes TCP connections to it,
 * RATE a second (0: as fast as it can) for SECONDS. The connection-rate
 * benchmark (bench/conn-bench.ts) runs it in a namespace of its own.
 * With WARMUP, prints `warm` on stderr once that many seconds have passed.
 * Prints {"pid":P,"made":N,"errors":N,"accepted":N,"seconds":S,
 * "warm_made":N,"warm_seconds":S} (made before, and the time of, `warm`;
 * -1 when it never came).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Pacing slice: sleep when ahead instead of spinning, to leave CPU to the tracer. */
#define SLICE_NS 200000

static atomic_ulong accepted;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *serve(void *arg)
{
	int listener = *(int *)arg, fd;

	while ((fd = accept(listener, NULL, NULL)) >= 0) {
		atomic_fetch_add(&accepted, 1);
		close(fd);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	struct timespec slice = { 0, SLICE_NS };
	double rate, seconds, warmup = -1, warm_at = -1, start, t;
	uint64_t made = 0, errors = 0, warm_made = 0;
	int listener, one = 1;
	pthread_t thread;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: %s RATE SECONDS PORT [WARMUP]\n", argv[0]);
		return 2;
	}
	if (argc == 5)
		warmup = atof(argv[4]);
	rate = atof(argv[1]);
	seconds = atof(argv[2]);
	addr.sin_port = htons(atoi(argv[3]));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listener = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(listener, (struct sockaddr *)&addr, sizeof(addr)) || listen(listener, 4096))
		return perror("listen"), 1;
	pthread_create(&thread, NULL, serve, &listener);
	start = now_s();
	while ((t = now_s() - start) < seconds) {
		while ((rate <= 0 || made + errors < (uint64_t)(t * rate)) &&
		       ((made + errors) & 15 || now_s() - start < seconds)) {
			double elapsed;
			int fd;

			/* A CPU sample taken on the `warm` line covers the flood from here on. */
			if (warmup >= 0 && warm_at < 0 && !((made + errors) & 15) &&
			    (elapsed = now_s() - start) >= warmup) {
				warm_at = elapsed;
				warm_made = made;
				fprintf(stderr, "warm\n");
			}
			fd = socket(AF_INET, SOCK_STREAM, 0);
			if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
				made++;
			else
				errors++;
			if (fd >= 0)
				close(fd);
		}
		nanosleep(&slice, NULL);
	}
	t = now_s() - start;
	/* Let the listener accept what is queued before counting. */
	usleep(200000);
	printf("{\"pid\":%d,\"made\":%llu,\"errors\":%llu,\"accepted\":%lu,\"seconds\":%.6f,"
	       "\"warm_made\":%llu,\"warm_seconds\":%.6f}\n",
	       getpid(), (unsigned long long)made, (unsigned long long)errors,
	       atomic_load(&accepted), t, (unsigned long long)warm_made, warm_at);
	return 0;
}
