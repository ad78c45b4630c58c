/*
 * Segments by fd: anonymous (memfd) segments handed to other processes over a
 * Unix socket, fr_open_fd/fr_stat_fd on hostile fds, fr_recv_fd on hostile
 * messages, and named segments in another directory (FRAMERING_DIR).
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <framering.h>

#include "helpers.h"
#include "layout.h"

TestSuite(segfd, .fini = frt_cleanup, .timeout = 240);

#define FRAMES 1000
#define ANON_BYTES (96u << 20) /* large enough to see in /proc/meminfo's Shmem */

/* Shmem of /proc/meminfo in KiB, or 0. */
static uint64_t shmem_kib(void)
{
	long long v = frt_meminfo("Shmem");
	return v > 0 ? (uint64_t)v : 0;
}

/* Entries in the segment directory whose names contain @tag. */
static int dir_entries_with(const char *dir, const char *tag)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += strstr(e->d_name, tag) != NULL;
	closedir(d);
	return n;
}

struct anon {
	int sock;               /* the child's end */
	_Atomic uint64_t frames; /* received by the child */
	_Atomic int ready;
	_Atomic int sealed;     /* the child could not shrink the memfd */
	uint64_t seg_bytes;
};

/* The consumer: receive the segment's fd, attach through it, read FRAMES frames, then linger. */
static int anon_consumer(void *arg)
{
	struct anon *a = arg;
	int fd = fr_recv_fd(a->sock);
	FRT_CHILD_CHECKF(fd >= 0, "fr_recv_fd: %d (%s)", fd, fr_strerror(fd));
	struct stat st;
	FRT_CHILD_CHECK(fstat(fd, &st) == 0 && (uint64_t)st.st_size == a->seg_bytes);
	atomic_store(&a->sealed, ftruncate(fd, 4096) != 0 && errno == EPERM);
	struct fr_ring *rx;
	FRT_CHILD_OK(fr_open_fd(fd, FR_CONSUMER, &rx));
	close(fd);
	atomic_store(&a->ready, 1);
	for (uint64_t i = 0; i < FRAMES; i++) {
		struct fr_frame f;
		FRT_CHILD_OK(fr_acquire(rx, &f, 10000));
		uint64_t id, sum;
		FRT_CHILD_CHECKF(frt_verify(f.data, f.bytes, &id, &sum) == 0 && id == i,
				 "frame %lu corrupt or out of order", (unsigned long)i);
		FRT_CHILD_OK(fr_release(rx, &f));
		atomic_store(&a->frames, i + 1);
	}
	pause(); /* stay attached until killed */
	return 0;
}

/* The creator: an anonymous segment, its fd sent to the consumer, FRAMES frames. */
struct creator {
	int sock;
	const char *label;
	_Atomic int done;
	struct anon *a;
};

static int anon_creator(void *arg)
{
	struct creator *c = arg;
	struct fr_config cfg = {.mode = FR_SPSC, .slots = 4, .frame_bytes = ANON_BYTES / 4,
				.flags = FR_CREATE_ANONYMOUS};
	struct fr_ring *tx;
	FRT_CHILD_OK(fr_create(c->label, &cfg, &tx));
	struct fr_info info;
	FRT_CHILD_OK(fr_info(tx, &info));
	c->a->seg_bytes = info.segment_bytes;
	int seg = fr_segment_fd(tx);
	FRT_CHILD_CHECKF(seg >= 0, "fr_segment_fd: %d", seg);
	FRT_CHILD_OK(fr_send_fd(c->sock, seg));
	close(seg);
	for (uint64_t i = 0; i < FRAMES; i++) {
		struct fr_frame f;
		FRT_CHILD_OK(fr_claim(tx, &f, 10000));
		uint64_t len = frt_frame_len(i, 64, 4096);
		frt_fill(f.data, len, i);
		f.bytes = len;
		FRT_CHILD_OK(fr_publish(tx, &f));
	}
	atomic_store(&c->done, 1);
	pause();
	return 0;
}

Test(segfd, anonymous_segment_passed_over_a_socket_leaves_nothing)
{
	char label[FRT_NAME_SIZE];
	snprintf(label, sizeof label, "frt-anon-%d", (int)getpid());
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	uint64_t before = shmem_kib();
	struct anon *a = frt_shared_alloc(sizeof *a);
	struct creator *c = frt_shared_alloc(sizeof *c);
	a->sock = sv[1];
	c->sock = sv[0];
	c->label = label;
	c->a = a;
	pid_t pc = frt_spawn(anon_creator, c);
	pid_t pr = frt_spawn(anon_consumer, a);
	for (int i = 0; i < FRT_BOUND_S * 100 && atomic_load(&a->frames) < FRAMES; i++) {
		cr_assert_eq(frt_try_wait(pr), -1, "the consumer ended early");
		cr_assert_eq(frt_try_wait(pc), -1, "the creator ended early");
		frt_sleep_ms(10);
	}
	cr_assert_eq(atomic_load(&a->frames), FRAMES, "frames did not flow through the fd");
	cr_assert(atomic_load(&a->sealed), "the receiver could shrink the segment");
	cr_assert_eq(dir_entries_with("/dev/shm", label), 0, "an anonymous segment has a name");
	uint64_t during = shmem_kib();
	frt_kill(pc);
	frt_kill(pr);
	close(sv[0]);
	close(sv[1]);
	/* The kernel frees the memfd with its last reference; give it a moment. */
	uint64_t after = shmem_kib();
	for (int i = 0; i < 200 && during > after && during - after < ANON_BYTES / 1024 * 3 / 4;
	     i++) {
		frt_sleep_ms(10);
		after = shmem_kib();
	}
	cr_log_info("Shmem: %lu kB before, %lu kB with the segment, %lu kB after both were killed",
		    (unsigned long)before, (unsigned long)during, (unsigned long)after);
	cr_assert_gt(during, before + ANON_BYTES / 1024 / 2, "the segment never showed in Shmem");
	cr_assert(during > after && during - after >= ANON_BYTES / 1024 * 3 / 4,
		  "the segment's memory was not freed (%lu kB before, %lu kB after)",
		  (unsigned long)during, (unsigned long)after);
	cr_assert_eq(dir_entries_with("/dev/shm", label), 0);
	frt_shared_free(a, sizeof *a);
	frt_shared_free(c, sizeof *c);
}

Test(segfd, open_fd_refuses_what_is_not_a_segment)
{
	struct fr_ring *r;
	int p[2];
	cr_assert_eq(pipe(p), 0);
	FRT_ASSERT_ERR(fr_open_fd(p[0], FR_CONSUMER, &r), -EACCES); /* read-only end */
	close(p[0]);
	close(p[1]);
	FRT_ASSERT_ERR(fr_open_fd(-1, FR_CONSUMER, &r), -EINVAL);

	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	FRT_ASSERT_ERR(fr_open_fd(nul, FR_CONSUMER, &r), -EPROTO); /* not a regular file */
	close(nul);

	int zero = memfd_create("frt-zero", MFD_CLOEXEC); /* a regular file of zeros */
	cr_assert_eq(ftruncate(zero, 1 << 20), 0);
	FRT_ASSERT_ERR(fr_open_fd(zero, FR_CONSUMER, &r), -EPROTO);
	struct fr_info info;
	FRT_ASSERT_ERR(fr_stat_fd(zero, &info), -EPROTO);
	close(zero);

	/* A real segment's bytes in a memfd: truncated, then with a scribbled header. */
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = {.mode = FR_MPMC, .slots = 4, .frame_bytes = 4096};
	struct fr_ring *tx = frt_create_ok(frt_name(name, sizeof name, "fdbad"), &cfg);
	int seg = fr_segment_fd(tx);
	cr_assert_geq(seg, 0);
	struct stat st;
	cr_assert_eq(fstat(seg, &st), 0);
	void *src = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, seg, 0);
	cr_assert_neq(src, MAP_FAILED);
	int copy = memfd_create("frt-copy", MFD_CLOEXEC);
	cr_assert_eq(write(copy, src, (size_t)st.st_size), st.st_size);
	FRT_ASSERT_OK(fr_stat_fd(copy, &info)); /* an exact copy is a segment */
	cr_assert_eq(info.mode, FR_MPMC);
	cr_assert_eq(ftruncate(copy, st.st_size / 2), 0);
	FRT_ASSERT_ERR(fr_open_fd(copy, FR_CONSUMER, &r), -EPROTO);
	cr_assert_eq(ftruncate(copy, st.st_size), 0);
	cr_assert_eq(pwrite(copy, src, (size_t)st.st_size, 0), st.st_size);
	uint32_t mode = 7;
	cr_assert_eq(pwrite(copy, &mode, sizeof mode, offsetof(struct fr_shm_header, mode)), 4);
	FRT_ASSERT_ERR(fr_open_fd(copy, FR_CONSUMER, &r), -EPROTO);
	close(copy);

	/* The real one through its fd: a consumer and (MPMC) a second producer attach. */
	FRT_ASSERT_OK(fr_open_fd(seg, FR_CONSUMER, &r));
	struct fr_ring *p2;
	FRT_ASSERT_OK(fr_open_fd(seg, FR_PRODUCER, &p2));
	fr_close(p2);
	fr_close(r);
	munmap(src, (size_t)st.st_size);
	close(seg);
	fr_close(tx);
}

Test(segfd, recv_fd_refuses_other_messages)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	/* No fd. */
	cr_assert_eq(write(sv[0], "FRfd", 4), 4);
	FRT_ASSERT_ERR(fr_recv_fd(sv[1]), -EPROTO);
	/* An fd with the wrong tag. */
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	memset(&ctl, 0, sizeof ctl);
	struct iovec iov = {.iov_base = "XXXX", .iov_len = 4};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = CMSG_SPACE(sizeof(int))};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	cr_assert_eq(sendmsg(sv[0], &msg, 0), 4);
	FRT_ASSERT_ERR(fr_recv_fd(sv[1]), -EPROTO);
	/* Two fds with the right tag. */
	int two[2] = {fd, fd};
	iov.iov_base = "FRfd";
	msg.msg_controllen = CMSG_SPACE(2 * sizeof(int));
	c->cmsg_len = CMSG_LEN(2 * sizeof(int));
	memcpy(CMSG_DATA(c), two, sizeof two);
	cr_assert_eq(sendmsg(sv[0], &msg, 0), 4);
	FRT_ASSERT_ERR(fr_recv_fd(sv[1]), -EPROTO);
	/* The right message. */
	FRT_ASSERT_OK(fr_send_fd(sv[0], fd));
	int got = fr_recv_fd(sv[1]);
	cr_assert_geq(got, 0, "fr_recv_fd: %d", got);
	cr_assert(fcntl(got, F_GETFD) & FD_CLOEXEC);
	close(got);
	/* The peer went away. */
	close(sv[0]);
	FRT_ASSERT_ERR(fr_recv_fd(sv[1]), -ECONNRESET);
	close(sv[1]);
	close(fd);
}

Test(segfd, named_segments_in_another_tmpfs)
{
	char dir[] = "/tmp/frt-dir-XXXXXX";
	cr_assert_neq(mkdtemp(dir), NULL);
	int mounted = mount("frt-tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV,
			    "size=16m,mode=0700") == 0;
	int err = errno;
	if (!mounted)
		rmdir(dir);
	FRT_SKIP_UNLESS(mounted,
			"cannot mount a tmpfs here (%s): the directory override is untested",
			strerror(err));
	char name[FRT_NAME_SIZE];
	snprintf(name, sizeof name, "frt-dir-%d", (int)getpid());
	setenv("FRAMERING_DIR", dir, 1);
	cr_assert_str_eq(fr_segment_dir(), dir);
	struct fr_config cfg = {.mode = FR_SPSC, .slots = 2, .frame_bytes = 4096};
	struct fr_ring *tx, *rx;
	FRT_ASSERT_OK(fr_create(name, &cfg, &tx));
	cr_assert_eq(dir_entries_with(dir, name), 1, "the segment is not in FRAMERING_DIR");
	cr_assert_eq(dir_entries_with("/dev/shm", name), 0, "the segment went to /dev/shm");
	FRT_ASSERT_OK(fr_open(name, FR_CONSUMER, &rx));
	frt_pass_one(tx, rx);
	struct fr_info info;
	FRT_ASSERT_OK(fr_stat(name, &info));
	cr_assert_eq(info.published, 1);
	/* A symlink planted in the directory is not followed. */
	char link[512];
	snprintf(link, sizeof link, "%s/frt-link", dir);
	cr_assert_eq(symlink("/etc/passwd", link), 0);
	FRT_ASSERT_ERR(fr_open("frt-link", FR_CONSUMER, &rx), -ELOOP);
	fr_close(rx);
	fr_close(tx);
	FRT_ASSERT_OK(fr_unlink(name));
	cr_assert_eq(dir_entries_with(dir, name), 0);
	/* A relative directory is refused rather than resolved against the cwd. */
	setenv("FRAMERING_DIR", "relative/dir", 1);
	FRT_ASSERT_ERR(fr_create(name, &cfg, &tx), -EINVAL);
	unsetenv("FRAMERING_DIR");
	cr_assert_str_eq(fr_segment_dir(), "/dev/shm");
	umount(dir);
	rmdir(dir);
}
