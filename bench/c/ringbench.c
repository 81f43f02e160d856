// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The two halves of the event-pipeline benchmark (bench/ring-bench.ts):
 *
 *   ringbench gen RATE BURST SECONDS
 *     waits for a line on stdin (the caller loads ringgen.bpf.o for this
 *     pid meanwhile), then calls getppid() RATE/BURST times a second for
 *     SECONDS (RATE 0: as fast as it can); each call makes BURST records.
 *     Prints {"triggers":N,"seconds":S}.
 *
 *   ringbench consume RATE BURST SECONDS
 *     the reference consumer: loads ringgen.bpf.o itself, forks the
 *     generator above and reads the ring buffer with libbpf's
 *     ring_buffer__poll/consume, counting records by type, until the
 *     generator is done and the ring is empty. Prints
 *     {"generated":N,"received":N,"lost":N,"seconds":S}.
 *
 *   ringbench drain RATE BURST SECONDS
 *     the same with a DRAIN_BYTES ring read only after the generator is
 *     done: the consumer's own rate, with no generator on the CPUs.
 *     Adds "drain_seconds".
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "ringgen.skel.h"

/* hostflow.h's HF_CNT_DROP_CLOSE and HF_EVENT_CLOSE (kept in step by hand: two constants). */
#define DROP_CLOSE 2
#define EVENT_CLOSE 3
/* As the tracer sets it (src/kernel/tracer.ts). */
#define WAKEUP_BYTES 65536
/* Pacing slice: the generator sleeps when ahead, so it leaves CPU to the consumer. */
#define SLICE_NS 200000
/* Ring for drain mode: about 880k close records. */
#define DRAIN_BYTES (128 << 20)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The generator loop; returns the number of getppid() calls made. */
static uint64_t generate(double rate, unsigned burst, double seconds, double *elapsed)
{
	double per_s = rate / burst;
	double start = now_s(), t;
	uint64_t issued = 0;
	struct timespec slice = { 0, SLICE_NS };

	while ((t = now_s() - start) < seconds) {
		if (rate <= 0) {
			for (int i = 0; i < 64; i++)
				syscall(SYS_getppid);
			issued += 64;
			continue;
		}
		/* Behind after a preemption: catch up, but never past the end. */
		while (issued < (uint64_t)(t * per_s) &&
		       (issued & 15 || now_s() - start < seconds)) {
			syscall(SYS_getppid);
			issued++;
		}
		nanosleep(&slice, NULL);
	}
	*elapsed = now_s() - start;
	return issued;
}

static uint64_t received, closes;

static int on_record(void *ctx, void *data, size_t size)
{
	const uint32_t *type = (const uint32_t *)((const char *)data + 8);

	received++;
	if (size >= 12 && *type == EVENT_CLOSE)
		closes++;
	return 0;
}

static int consume(double rate, unsigned burst, double seconds, bool drain)
{
	struct ringgen_bpf *skel;
	struct ring_buffer *rb;
	int go[2], report[2], status, err, ncpus, key = DROP_CLOSE;
	uint64_t triggers = 0, lost = 0, *values;
	double elapsed = 0, drain_start = 0, drained = 0;
	pid_t child;

	if (pipe(go) || pipe(report))
		return perror("pipe"), 1;
	child = fork();
	if (child == 0) {
		char byte;

		close(go[1]);
		if (read(go[0], &byte, 1) != 1)
			_exit(1);
		triggers = generate(rate, burst, seconds, &elapsed);
		if (write(report[1], &triggers, sizeof(triggers)) < 0 ||
		    write(report[1], &elapsed, sizeof(elapsed)) < 0)
			_exit(1);
		_exit(0);
	}
	close(go[0]);
	close(report[1]);
	skel = ringgen_bpf__open();
	if (!skel)
		return perror("open"), 1;
	skel->rodata->gen_tgid = child;
	skel->rodata->burst = burst;
	skel->rodata->wakeup_bytes = WAKEUP_BYTES;
	if (drain) {
		bpf_map__set_max_entries(skel->maps.events, DRAIN_BYTES);
		/*
		 * Nobody reads while the generator runs: past wakeup_bytes every
		 * submit would force a wakeup (an irq_work each). The default
		 * policy wakes only a consumer that has caught up.
		 */
		skel->rodata->wakeup_bytes = 0;
	}
	err = ringgen_bpf__load(skel);
	if (!err)
		err = ringgen_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "load/attach: %s\n", strerror(-err));
		kill(child, SIGKILL);
		return 1;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_record, NULL, NULL);
	if (!rb)
		return perror("ring_buffer__new"), 1;
	if (write(go[1], "g", 1) != 1)
		return perror("write"), 1;
	if (drain) {
		waitpid(child, &status, 0);
		drain_start = now_s();
	}
	for (; !drain;) {
		/* With wakeup_bytes the kernel wakes us per 64 KiB: drain on timeout too, as the addon does. */
		ring_buffer__poll(rb, 50);
		ring_buffer__consume(rb);
		if (waitpid(child, &status, WNOHANG) == child)
			break;
	}
	while (ring_buffer__consume(rb) > 0)
		;
	if (drain)
		drained = now_s() - drain_start;
	if (read(report[0], &triggers, sizeof(triggers)) != sizeof(triggers) ||
	    read(report[0], &elapsed, sizeof(elapsed)) != sizeof(elapsed))
		return fprintf(stderr, "generator failed\n"), 1;
	ncpus = libbpf_num_possible_cpus();
	values = calloc(ncpus, sizeof(*values));
	if (values && !bpf_map__lookup_elem(skel->maps.counters, &key, sizeof(key), values,
					    sizeof(*values) * ncpus, 0))
		for (int i = 0; i < ncpus; i++)
			lost += values[i];
	printf("{\"generated\":%llu,\"received\":%llu,\"closes\":%llu,\"lost\":%llu,\"seconds\":%.6f,\"drain_seconds\":%.6f}\n",
	       (unsigned long long)(triggers * burst), (unsigned long long)received,
	       (unsigned long long)closes, (unsigned long long)lost, elapsed, drained);
	free(values);
	ring_buffer__free(rb);
	ringgen_bpf__destroy(skel);
	return 0;
}

int main(int argc, char **argv)
{
	double rate, seconds, elapsed;
	unsigned burst;
	uint64_t triggers;
	char line[16];

	if (argc != 5) {
		fprintf(stderr, "usage: %s gen|consume|drain RATE BURST SECONDS\n", argv[0]);
		return 2;
	}
	rate = atof(argv[2]);
	burst = atoi(argv[3]);
	seconds = atof(argv[4]);
	if (burst == 0 || burst > 256)
		return fprintf(stderr, "BURST: 1 to 256\n"), 2;
	if (strcmp(argv[1], "consume") == 0 || strcmp(argv[1], "drain") == 0)
		return consume(rate, burst, seconds, argv[1][0] == 'd');
	if (strcmp(argv[1], "gen") != 0)
		return fprintf(stderr, "gen, consume or drain\n"), 2;
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	triggers = generate(rate, burst, seconds, &elapsed);
	printf("{\"triggers\":%llu,\"seconds\":%.6f}\n", (unsigned long long)triggers, elapsed);
	return 0;
}
