// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gai NAME COUNT: COUNT getaddrinfo(NAME) calls one after another, each
 * timed; prints {"count":N,"errors":N,"p50_us":X,"p99_us":X,"mean_us":X}.
 * The getaddrinfo benchmark (bench/gai-bench.ts) runs it in a namespace
 * whose resolver is a dnsmasq there, with and without tracers.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct addrinfo hints, *res;
	int count, errors = 0;
	double *lat, sum = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s NAME COUNT\n", argv[0]);
		return 2;
	}
	count = atoi(argv[2]);
	if (count <= 0)
		return 2;
	lat = calloc(count, sizeof(*lat));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	for (int i = 0; i < count; i++) {
		double start = now_us();

		if (getaddrinfo(argv[1], NULL, &hints, &res) == 0)
			freeaddrinfo(res);
		else
			errors++;
		lat[i] = now_us() - start;
		sum += lat[i];
	}
	qsort(lat, count, sizeof(*lat), by_value);
	printf("{\"count\":%d,\"errors\":%d,\"p50_us\":%.1f,\"p99_us\":%.1f,\"mean_us\":%.1f}\n",
	       count, errors, lat[count / 2], lat[(int)(count * 0.99)], sum / count);
	free(lat);
	return 0;
}
