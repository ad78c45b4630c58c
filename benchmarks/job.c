/* One measurement from the parent's side (job.h). */
#include "job.h"
#include "child.h"
#include "ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void job_env_init(struct job_env *env, const struct bench_timing *timing)
{
	cpu_set_t set;
	memset(env, 0, sizeof(*env));
	env->timing = *timing;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int i = 0; i < CPU_SETSIZE && env->ncpus < 256; i++)
			if (CPU_ISSET(i, &set))
				env->cpus[env->ncpus++] = i;
}

/* The producer (0) and the consumers (1..) each on their own CPU while there are enough. */
static void pin(const struct job_env *env, int who)
{
	cpu_set_t set;
	if (env->ncpus < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(env->cpus[who % env->ncpus], &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}

int job_start(struct job *j, struct job_env *env, const struct bench_run *spec, int idle_ms)
{
	memset(j, 0, sizeof(*j));
	j->idle_ms = idle_ms;
	j->run.tp = spec->tp;
	j->run.wait = spec->wait;
	j->run.mode = spec->mode;
	j->run.consumers = spec->consumers;
	j->run.slots = spec->slots;
	j->run.frame_bytes = spec->frame_bytes;
	j->run.touch = spec->touch;
	snprintf(j->run.name, sizeof(j->run.name), "frbench-%d-%u", (int)getpid(), env->next_id++);

	j->c = mmap(NULL, sizeof(struct ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		    -1, 0);
	if (j->c == MAP_FAILED) {
		j->c = NULL;
		snprintf(j->msg, sizeof(j->msg), "mmap: %s", strerror(errno));
		return -1;
	}
	memset(j->c, 0, sizeof(struct ctl));
	if (j->run.tp->setup) {
		char why[256] = "";
		int rc = j->run.tp->setup(&j->run, why, sizeof(why));
		if (rc) {
			snprintf(j->msg, sizeof(j->msg), "setup: %s", why[0] ? why : strerror(-rc));
			return rc == BENCH_SKIP ? BENCH_SKIP : -1;
		}
	}
	j->setup_done = 1;
	fflush(NULL); /* or the children flush the parent's buffered output again */
	for (int k = 0; k <= j->run.consumers; k++) {
		pid_t pid = fork();
		if (pid < 0) {
			snprintf(j->msg, sizeof(j->msg), "fork: %s", strerror(errno));
			atomic_store(&j->c->abort, 1);
			return -1;
		}
		if (pid == 0) {
			int code;
			pin(env, k);
			if (k == 0)
				code = producer_main(&j->run, j->c, &env->timing, idle_ms);
			else
				code = consumer_main(&j->run, j->c, k - 1, idle_ms);
			fflush(NULL);
			exit(code);
		}
		j->pid[j->npid++] = pid;
	}
	return 0;
}

/* A pidfd for child @pid, or -1 where the kernel has none (before 5.3). */
static int child_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	return -1;
#endif
}

/*
 * Until a child may have exited: poll its pidfds (readable once it exits),
 * waking every REAP_ABORT_CHECK_MS to look at abort and the deadline. The
 * parent shares the measured processes' CPUs, so it must not wake more
 * often: a 1 ms poll woke it (and preempted a measured process) about a
 * thousand times a second. Without pidfds it falls back to that poll.
 */
#define REAP_ABORT_CHECK_MS 100
static void wait_for_exit(const struct job *j, const int *codes, const int *pidfd)
{
	struct pollfd fds[1 + BENCH_MAX_CONSUMERS];
	nfds_t n = 0;
	for (int i = 0; i < j->npid; i++) {
		if (codes[i] != -1)
			continue;
		if (pidfd[i] < 0) {
			n = 0; /* a child without a pidfd: the 1 ms poll */
			break;
		}
		fds[n++] = (struct pollfd){ .fd = pidfd[i], .events = POLLIN };
	}
	if (n > 0 && (poll(fds, n, REAP_ABORT_CHECK_MS) >= 0 || errno == EINTR))
		return;
	struct timespec ts = { 0, 1000000 }; /* no pidfd, or poll failed: never a busy loop */
	nanosleep(&ts, NULL);
}

/*
 * Reap the processes into @codes (exit status, 128 + signal, -1 for no process). A side that
 * failed sets abort: the others get 2 s more, then everyone left is killed.
 * Returns 1 when the deadline killed someone.
 */
static int reap(struct job *j, int *codes, double timeout_s, int *abort_seen)
{
	uint64_t deadline = bench_now_ns() + (uint64_t)(timeout_s * 1e9);
	int left = j->npid, timed_out = 0, pidfd[1 + BENCH_MAX_CONSUMERS];

	*abort_seen = 0;
	for (int i = 0; i < 1 + BENCH_MAX_CONSUMERS; i++) {
		codes[i] = -1;
		pidfd[i] = i < j->npid ? child_pidfd(j->pid[i]) : -1;
	}
	while (left > 0) {
		for (int i = 0; i < j->npid; i++) {
			int st;
			if (codes[i] != -1)
				continue;
			pid_t p = waitpid(j->pid[i], &st, WNOHANG);
			if (p == j->pid[i]) {
				codes[i] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
				left--;
			}
		}
		if (left > 0 && !*abort_seen && atomic_load(&j->c->abort)) {
			*abort_seen = 1;
			uint64_t grace = bench_now_ns() + 2000000000ull;
			if (grace < deadline)
				deadline = grace;
		}
		if (left > 0 && !timed_out && bench_now_ns() > deadline) {
			timed_out = 1;
			for (int i = 0; i < j->npid; i++)
				if (codes[i] == -1)
					kill(j->pid[i], SIGKILL);
		}
		if (left > 0)
			wait_for_exit(j, codes, pidfd);
	}
	for (int i = 0; i < j->npid; i++)
		if (pidfd[i] >= 0)
			close(pidfd[i]);
	return timed_out;
}

/* A hang nobody reported: say where each process was. */
static void describe_hang(struct job *j, double timeout_s)
{
	const struct ctl *c = j->c;
	char where[200];
	size_t len = 0;
	where[0] = 0;
	for (int i = 0; i < j->npid && len < sizeof(where); i++) {
		int n = snprintf(where + len, sizeof(where) - len,
				 "%s%s %s after %" PRIu64 " frames", i ? ", " : "",
				 i ? "consumer" : "producer", ctl_phase_name(c->where[i].phase),
				 (uint64_t)c->where[i].frames);
		if (n < 0)
			break;
		len += (size_t)n;
	}
	snprintf(j->msg, sizeof(j->msg), "timed out after %.0f s (%.150s)%s%.120s", timeout_s,
		 where, c->msg[0] ? ": " : "", c->msg);
}

/* res->status (and j->msg) from how the processes ended. */
static void judge(struct job *j, const int *codes, int timed_out, int abort_seen, double timeout_s,
		  struct rep_result *res)
{
	struct ctl *c = j->c;
	if (timed_out && !abort_seen) {
		res->status = -1;
		describe_hang(j, timeout_s);
		return;
	}
	if (codes[0] == CHILD_EXIT_SKIP) {
		res->status = BENCH_SKIP;
		snprintf(j->msg, sizeof(j->msg), "%s", c->msg);
		return;
	}
	int bad = 0;
	for (int i = 0; i < j->npid; i++)
		if (codes[i] != 0)
			bad = 1;
	if (bad || atomic_load(&c->abort)) {
		res->status = -1;
		snprintf(j->msg, sizeof(j->msg), "%s",
			 c->msg[0] ? c->msg : "a process failed without a message");
		for (int i = 0; i < j->npid && !c->msg[0]; i++)
			if (codes[i] >= 128)
				snprintf(j->msg, sizeof(j->msg), "process %d killed by signal %d",
					 i, codes[i] - 128);
	}
}

/* The figures of a successful run; a consumer that missed frames fails it. */
static void read_figures(struct job *j, struct rep_result *res)
{
	const struct ctl *c = j->c;
	if (j->idle_ms) {
		double cpu = 0, wall = 0;
		for (int i = 0; i < j->run.consumers; i++) {
			cpu += c->idle_cpu_s[i];
			wall += c->idle_wall_s[i];
		}
		res->seconds = wall;
		res->cpu_pct = wall > 0 ? 100.0 * cpu / wall : 0;
		return;
	}
	uint64_t t_end = 0;
	for (int i = 0; i < j->run.consumers; i++) {
		if (c->frames[i] != c->sent) {
			res->status = -1;
			snprintf(j->msg, sizeof(j->msg),
				 "consumer %d received %" PRIu64 " of %" PRIu64 " frames", i,
				 c->frames[i], c->sent);
		}
		if (c->t_end[i] > t_end)
			t_end = c->t_end[i];
	}
	res->frames = c->sent;
	res->seconds = (double)(t_end - c->t_start) / 1e9;
	res->fps = res->seconds > 0 ? (double)c->sent / res->seconds : 0;
	res->gbps = res->fps * (double)j->run.frame_bytes * j->run.consumers / 1e9;
	res->lat_n = c->lat_n;
	res->p50 = c->lat_p50;
	res->p99 = c->lat_p99;
	res->p999 = c->lat_p999;
}

void job_finish(struct job *j, struct rep_result *res, double timeout_s)
{
	int codes[1 + BENCH_MAX_CONSUMERS], abort_seen;

	memset(res, 0, sizeof(*res));
	int timed_out = reap(j, codes, timeout_s, &abort_seen);
	if (j->setup_done && j->run.tp->teardown)
		j->run.tp->teardown(&j->run);
	judge(j, codes, timed_out, abort_seen, timeout_s, res);
	if (res->status == 0)
		read_figures(j, res);
	munmap(j->c, sizeof(struct ctl));
	j->c = NULL;
}

void job_cleanup_failed_start(struct job *j, struct rep_result *res, int rc)
{
	int status = rc == BENCH_SKIP ? BENCH_SKIP : -1;
	memset(res, 0, sizeof(*res));
	res->status = status;
	if (j->npid > 0) {
		/* fork failed after some children started: they see abort and exit */
		job_finish(j, res, 5);
		res->status = status;
		return;
	}
	if (j->setup_done && j->run.tp->teardown)
		j->run.tp->teardown(&j->run);
	if (j->c)
		munmap(j->c, sizeof(struct ctl));
	j->c = NULL;
}

void job_run(struct job *j, struct job_env *env, const struct bench_run *spec, int idle_ms,
	     struct rep_result *res, double timeout_s)
{
	int rc = job_start(j, env, spec, idle_ms);
	if (rc)
		job_cleanup_failed_start(j, res, rc);
	else
		job_finish(j, res, timeout_s);
}
