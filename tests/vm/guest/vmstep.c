// SPDX-License-Identifier: GPL-2.0
/*
 * vmstep: runs one command in the test guest and prints one JSON line with
 * everything the host asserts on: the step name, argv, uid, exit code (or
 * signal), the exact stdout and stderr, and the time taken.
 *
 *   vmstep [-u UID] [-t SECONDS] NAME CMD [ARG...]
 *
 * -u runs the command as that uid/gid (no groups), -t kills it after that
 * many seconds (default 60; the JSON then has "timed_out": true), so a step
 * that hangs shows up as a failed step instead of a stuck guest.
 * Built static: the guest has no libc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct buf {
	char *data;
	size_t len, cap;
};

static void append(struct buf *b, const char *data, size_t len)
{
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2 + 256;
		b->data = realloc(b->data, b->cap);
		if (!b->data) {
			perror("vmstep: realloc");
			exit(125);
		}
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

/* JSON string; bytes >= 0x80 pass through (klp writes UTF-8). */
static void put_json(FILE *out, const char *s, size_t len)
{
	fputc('"', out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long uid = -1, timeout = 60;
	int opt;

	while ((opt = getopt(argc, argv, "+u:t:")) != -1) {
		if (opt == 'u')
			uid = strtol(optarg, NULL, 10);
		else if (opt == 't')
			timeout = strtol(optarg, NULL, 10);
		else
			return 125;
	}
	if (argc - optind < 2) {
		fprintf(stderr, "usage: vmstep [-u UID] [-t SECONDS] NAME CMD [ARG...]\n");
		return 125;
	}
	const char *name = argv[optind];
	char **cmd = argv + optind + 1;

	int out_pipe[2], err_pipe[2];
	if (pipe(out_pipe) || pipe(err_pipe)) {
		perror("vmstep: pipe");
		return 125;
	}
	double start = now();
	pid_t child = fork();
	if (child < 0) {
		perror("vmstep: fork");
		return 125;
	}
	if (child == 0) {
		dup2(out_pipe[1], 1);
		dup2(err_pipe[1], 2);
		close(out_pipe[0]);
		close(err_pipe[0]);
		close(out_pipe[1]);
		close(err_pipe[1]);
		if (uid >= 0 && (setgroups(0, NULL) || setgid(uid) || setuid(uid))) {
			perror("vmstep: setuid");
			_exit(126);
		}
		execvp(cmd[0], cmd);
		fprintf(stderr, "vmstep: exec %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	close(out_pipe[1]);
	close(err_pipe[1]);

	struct buf out = { 0 }, err = { 0 };
	struct pollfd fds[2] = { { out_pipe[0], POLLIN, 0 }, { err_pipe[0], POLLIN, 0 } };
	struct buf *bufs[2] = { &out, &err };
	int open_fds = 2, timed_out = 0;
	double deadline = start + timeout;
	char chunk[4096];

	while (open_fds > 0) {
		int left_ms = (int)((deadline - now()) * 1000);
		if (left_ms <= 0) {
			timed_out = 1;
			kill(child, SIGKILL);
			break;
		}
		if (poll(fds, 2, left_ms) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(fds[i].fd, chunk, sizeof(chunk));
			if (n > 0) {
				append(bufs[i], chunk, n);
			} else {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_fds--;
			}
		}
	}
	int status = 0;
	if (timed_out)
		kill(child, SIGKILL);
	waitpid(child, &status, 0);
	double took = now() - start;

	FILE *o = stdout;
	fputs("{\"step\":", o);
	put_json(o, name, strlen(name));
	fputs(",\"argv\":[", o);
	for (char **a = cmd; *a; a++) {
		if (a != cmd)
			fputc(',', o);
		put_json(o, *a, strlen(*a));
	}
	fprintf(o, "],\"uid\":%ld,\"exit\":", uid >= 0 ? uid : (long)getuid());
	if (WIFEXITED(status))
		fprintf(o, "%d,\"signal\":null", WEXITSTATUS(status));
	else
		fprintf(o, "null,\"signal\":%d", WTERMSIG(status));
	fprintf(o, ",\"timed_out\":%s,\"seconds\":%.3f,\"stdout\":", timed_out ? "true" : "false", took);
	put_json(o, out.data ? out.data : "", out.len);
	fputs(",\"stderr\":", o);
	put_json(o, err.data ? err.data : "", err.len);
	fputs("}\n", o);
	fflush(o);
	return 0;
}
