// SPDX-License-Identifier: GPL-2.0
/*
 * churn SECONDS: spawns and joins short-lived threads in batches for
 * SECONDS, so that klp scans /proc while tasks appear and vanish under it.
 * Prints {"threads": N} when done.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BATCH 16

static void *nothing(void *arg)
{
	return arg;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 5.0;
	struct timespec start, now;
	pthread_t threads[BATCH];
	unsigned long total = 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		int made = 0;
		for (int i = 0; i < BATCH; i++)
			if (pthread_create(&threads[made], NULL, nothing, NULL) == 0)
				made++;
		for (int i = 0; i < made; i++)
			pthread_join(threads[i], NULL);
		total += made;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
	printf("{\"threads\": %lu}\n", total);
	return total > 0 ? 0 : 1;
}
