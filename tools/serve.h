/*
 * Segments handed on by fd over a Unix socket: `pub --serve PATH` listens on
 * PATH and gives every client that connects an fd of its segment
 * (fr_segment_fd, fr_send_fd); `--via PATH` connects and takes one
 * (fr_recv_fd), for fr_open_fd or fr_stat_fd. This is how anonymous segments
 * (FR_CREATE_ANONYMOUS), which have no name, reach other processes.
 */
#ifndef FRAMERING_SERVE_H
#define FRAMERING_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "framering.h"

/* Longest socket path (sockaddr_un.sun_path, without its final NUL). */
#define SERVE_PATH_MAX 107

struct server;

/*
 * Check a socket PATH given to @opt (--serve, --via) while parsing: not empty,
 * at most SERVE_PATH_MAX bytes. TOOL_OK or TOOL_USAGE (reported).
 */
int serve_path_check(const char *cmd, const char *opt, const char *path);

/*
 * After getopt, for a command given --via PATH: no NAME may remain (PATH takes
 * its place) and --dir (@dir_given) has nothing to do. Writes PATH into
 * @shown, the name messages use. TOOL_OK or TOOL_USAGE (reported).
 */
int via_args(const char *cmd, int argc, char **argv, bool dir_given, const char *path,
	     char *shown, size_t len);

/*
 * Listen on the Unix socket @path, mode 0600 for now: before there is a
 * segment, so that a path that cannot be served fails before anything is
 * created. A socket file left at @path by a server that is gone (nobody
 * accepts on it) is replaced; anything else there (a live server, a file that
 * is not a socket) is refused. TOOL_OK with *out set, or TOOL_FAIL (reported).
 * Call before anything else starts threads: it sets the umask for a moment.
 */
int serve_listen(const char *cmd, const char *path, struct server **out);

/*
 * Give the socket the file mode @mode (the segment's) and, from a thread of
 * its own, send an fd of @ring's segment to every client that connects (those
 * that connected meanwhile included). TOOL_OK, or TOOL_FAIL (reported).
 */
int serve_start(struct server *s, const char *cmd, struct fr_ring *ring, uint32_t mode);

/*
 * Stop serving: no new client gets the segment, the thread ends and the path
 * is removed (if it is still this server's socket). Returns how many clients
 * were given the segment. NULL is ignored (returns 0).
 */
uint64_t serve_stop(struct server *s);

/*
 * Connect to the server at @path and receive its segment's fd (close-on-exec).
 * With @seconds > 0 (INFINITY: no limit), wait for the server: while @path does
 * not exist or nobody accepts on it, try again every 50 ms. TOOL_OK with *fd
 * set; TOOL_OK with *fd -1 when SIGINT or SIGTERM ended the wait (install the
 * handlers first); TOOL_FAIL, reported in one line: not a socket, refused, no
 * permission, no server in time, a server that sends no segment.
 */
int via_receive(const char *cmd, const char *path, double seconds, int *fd);

#endif /* FRAMERING_SERVE_H */
