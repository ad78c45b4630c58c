/* A segment's fd served on a Unix socket, and received through one: see serve.h. */
#include "serve.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "opts.h"
#include "stats.h" /* now_ns */
#include "tool.h"

/* How long a client waits for the segment once connected: a framering server
 * sends it at once, so only something else listening on the path takes long. */
#define RECV_SECONDS 10.0

struct server {
	int listen_fd;
	int seg_fd; /* fr_segment_fd(): every client gets a copy */
	bool running; /* the thread was started */
	pthread_t thread;
	atomic_bool stop;
	atomic_uint_fast64_t served;
	dev_t dev; /* the socket file this server made, to remove only that one */
	ino_t ino;
	char path[SERVE_PATH_MAX + 1];
};

int serve_path_check(const char *cmd, const char *opt, const char *path)
{
	if (!path[0])
		return opt_usage_error(cmd, "%s needs a socket path", opt);
	if (strlen(path) > SERVE_PATH_MAX)
		return opt_usage_error(cmd, "%s %s: a socket path has at most %d bytes", opt, path,
				       SERVE_PATH_MAX);
	return TOOL_OK;
}

int via_args(const char *cmd, int argc, char **argv, bool dir_given, const char *path,
	     char *shown, size_t len)
{
	if (optind < argc)
		return opt_usage_error(cmd, "unexpected argument '%s' (--via PATH takes the "
					    "place of NAME)",
				       argv[optind]);
	if (dir_given)
		return opt_usage_error(cmd, "--dir is where named segments live; a segment "
					    "reached --via PATH has no name");
	snprintf(shown, len, "%s", path);
	return TOOL_OK;
}

static struct sockaddr_un socket_address(const char *path)
{
	struct sockaddr_un a;

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	memcpy(a.sun_path, path, strlen(path)); /* checked: shorter than sun_path */
	return a;
}

/* bind() with the socket file made with mode 0600, whatever the umask. */
static int bind_private(int fd, const struct sockaddr_un *a)
{
	mode_t old = umask(0177);
	int rc = bind(fd, (const struct sockaddr *)a, sizeof(*a));
	int err = errno;

	umask(old);
	return rc ? err : 0;
}

/*
 * PATH is taken. Remove it if it is a socket nobody accepts on (its server is
 * gone): TOOL_OK, bind again. Otherwise refuse, TOOL_FAIL (reported).
 */
static int remove_stale(const char *cmd, const char *path, const struct sockaddr_un *a)
{
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT ? TOOL_OK : tool_failf("%s --serve %s: %s", cmd, path,
							       strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return tool_failf("%s --serve %s: exists and is not a socket; not replacing it",
				  cmd, path);
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (probe < 0)
		return tool_failf("%s --serve %s: socket: %s", cmd, path, strerror(errno));
	int rc = connect(probe, (const struct sockaddr *)a, sizeof(*a));
	int err = rc ? errno : 0;
	close(probe);
	if (!rc || err == EAGAIN)
		return tool_failf("%s --serve %s: a server is listening there already", cmd, path);
	if (err != ECONNREFUSED)
		return tool_failf("%s --serve %s: %s", cmd, path, strerror(err));
	/*
	 * Stale: left by a server that died (SIGKILL, a crash). A server
	 * between its bind and its listen looks the same; two servers started
	 * on one path at the same moment are not told apart.
	 */
	if (unlink(path) && errno != ENOENT)
		return tool_failf("%s --serve %s: cannot remove the stale socket: %s", cmd, path,
				  strerror(errno));
	return TOOL_OK;
}

/* Is PATH still the socket this server bound? */
static bool own_socket(const struct server *s)
{
	struct stat st;

	return s->ino && lstat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino;
}

static void server_free(struct server *s)
{
	if (own_socket(s))
		unlink(s->path);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->seg_fd >= 0)
		close(s->seg_fd);
	free(s);
}

/* Bound and listening on PATH: TOOL_OK with s->listen_fd, dev and ino set. */
static int listen_on(const char *cmd, struct server *s)
{
	struct sockaddr_un a = socket_address(s->path);
	struct stat st;
	int err;

	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->listen_fd < 0)
		return tool_failf("%s --serve %s: socket: %s", cmd, s->path, strerror(errno));
	/* Twice at most: once more after removing a stale socket. */
	for (int tries = 0; (err = bind_private(s->listen_fd, &a)) == EADDRINUSE && tries < 2;
	     tries++) {
		int rc = remove_stale(cmd, s->path, &a);
		if (rc)
			return rc;
	}
	if (err)
		return tool_failf("%s --serve %s: %s", cmd, s->path, strerror(err));
	if (lstat(s->path, &st) == 0) {
		s->dev = st.st_dev;
		s->ino = st.st_ino;
	}
	if (listen(s->listen_fd, 64))
		return tool_failf("%s --serve %s: listen: %s", cmd, s->path, strerror(errno));
	return TOOL_OK;
}

int serve_listen(const char *cmd, const char *path, struct server **out)
{
	struct server *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return tool_fail(cmd, -ENOMEM);
	s->listen_fd = s->seg_fd = -1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	atomic_init(&s->stop, false);
	atomic_init(&s->served, 0);
	if ((rc = listen_on(cmd, s))) {
		server_free(s);
		return rc;
	}
	*out = s;
	return TOOL_OK;
}

/* The serving thread: accept, send the segment, hang up; until told to stop. */
static void *serve_loop(void *arg)
{
	struct server *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd p = { .fd = s->listen_fd, .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
			continue;
		int c = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				struct timespec ts = { 0, 100000000 }; /* do not spin on it */
				nanosleep(&ts, NULL);
			}
			continue;
		}
		if (fr_send_fd(c, s->seg_fd) == 0) /* a client gone meanwhile is no error */
			atomic_fetch_add(&s->served, 1);
		close(c);
	}
	return NULL;
}

int serve_start(struct server *s, const char *cmd, struct fr_ring *ring, uint32_t mode)
{
	sigset_t block, old;
	int rc;

	/* chmod follows symlinks: only on the socket this server made. */
	if (!own_socket(s) || chmod(s->path, mode & 0777))
		return tool_failf("%s --serve %s: cannot set the socket's mode %04o: %s", cmd,
				  s->path, (unsigned)mode & 0777,
				  own_socket(s) ? strerror(errno) : "replaced meanwhile");
	if ((s->seg_fd = fr_segment_fd(ring)) < 0)
		return tool_failf("%s --serve %s: %s", cmd, s->path, fr_strerror(s->seg_fd));
	/* Signals stay with the main thread: its waits are what they must interrupt. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = pthread_create(&s->thread, NULL, serve_loop, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return tool_failf("%s --serve %s: thread: %s", cmd, s->path, strerror(rc));
	s->running = true;
	return TOOL_OK;
}

uint64_t serve_stop(struct server *s)
{
	if (!s)
		return 0;
	if (s->running) {
		atomic_store(&s->stop, true);
		pthread_join(s->thread, NULL);
	}
	uint64_t served = atomic_load(&s->served);
	server_free(s);
	return served;
}

/* Connect to PATH: 0 with *sock, or an errno (ENOTSOCK: PATH is something else). */
static int try_connect(const char *path, int *sock)
{
	struct sockaddr_un a = socket_address(path);
	struct stat st;

	if (stat(path, &st))
		return errno;
	if (!S_ISSOCK(st.st_mode))
		return ENOTSOCK;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	while (connect(fd, (const struct sockaddr *)&a, sizeof(a))) {
		int err = errno;
		if (err == EINTR && !tool_stop)
			continue;
		close(fd);
		return err;
	}
	*sock = fd;
	return 0;
}

static int connect_fail(const char *cmd, const char *path, int err, double seconds)
{
	switch (err) {
	case ENOTSOCK:
		return tool_failf("%s %s: not a socket (a server's socket is made by "
				  "'framering pub --serve')",
				  cmd, path);
	case ENOENT:
		if (seconds > 0)
			return tool_failf("%s %s: no server after waiting %g s", cmd, path,
					  seconds);
		return tool_failf("%s %s: no such socket (is 'framering pub --serve' running? "
				  "--wait waits for it)",
				  cmd, path);
	case ECONNREFUSED:
		if (seconds > 0)
			return tool_failf("%s %s: no server after waiting %g s (the socket is "
					  "there, nobody accepts)",
					  cmd, path, seconds);
		return tool_failf("%s %s: connection refused: no server is listening "
				  "(a socket left by one that died?)",
				  cmd, path);
	case EACCES:
		return tool_failf("%s %s: permission denied (the socket has the segment's "
				  "permissions, see --perm)",
				  cmd, path);
	default:
		return tool_failf("%s %s: %s", cmd, path, strerror(err));
	}
}

/* Sleep up to 50 ms, less when @left is shorter. false when a signal came. */
static bool nap(double left)
{
	double t = left < 0.05 ? left : 0.05;
	struct timespec ts = { 0, (long)(t * 1e9) };

	return !(tool_stop || (nanosleep(&ts, NULL) && tool_stop));
}

/* Wait for the server's message on @sock: 0, or an errno (ETIMEDOUT, EINTR on a signal). */
static int await_message(int sock)
{
	uint64_t start = now_ns();

	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		int n = poll(&p, 1, 100);
		if (n > 0)
			return 0;
		if (tool_stop)
			return EINTR;
		if (n < 0 && errno != EINTR)
			return errno;
		if ((double)(now_ns() - start) / 1e9 >= RECV_SECONDS)
			return ETIMEDOUT;
	}
}

int via_receive(const char *cmd, const char *path, double seconds, int *fd)
{
	uint64_t start = now_ns();
	int sock = -1, err;

	*fd = -1;
	while ((err = try_connect(path, &sock))) {
		if (tool_stop)
			return TOOL_OK;
		double left = seconds - (double)(now_ns() - start) / 1e9;
		/* Not there yet, or there but its server not (yet, or again) up. */
		if ((err != ENOENT && err != ECONNREFUSED) || left <= 0)
			return connect_fail(cmd, path, err, seconds);
		if (!nap(left))
			return TOOL_OK;
	}
	err = await_message(sock);
	int got = err ? -err : fr_recv_fd(sock);
	close(sock);
	if (got >= 0) {
		*fd = got;
		return TOOL_OK;
	}
	switch (got) {
	case -EINTR:
		return TOOL_OK; /* a signal: *fd stays -1 */
	case -ETIMEDOUT:
		return tool_failf("%s %s: the server sent nothing in %g s (not a framering "
				  "server?)",
				  cmd, path, RECV_SECONDS);
	case -EPROTO:
		return tool_failf("%s %s: the server sent no framering segment "
				  "(not a framering server?)",
				  cmd, path);
	case -ECONNRESET:
		return tool_failf("%s %s: the server hung up without sending a segment", cmd,
				  path);
	default:
		return tool_failf("%s %s: receiving the segment: %s", cmd, path, fr_strerror(got));
	}
}
