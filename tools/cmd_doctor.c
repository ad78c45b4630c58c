/* framering doctor: what on this machine would bite a framering user. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "describe.h"
#include "framering.h"
#include "json.h"
#include "opts.h"
#include "shmdir.h"
#include "tool.h"

static const char help[] =
	"Usage: framering doctor [OPTIONS]\n"
	"\n"
	"Check what would bite a framering user here, one line per check: OK, WARN or\n"
	"FAIL, what was found and, unless OK, a hint. The checks:\n"
	"  directory    where named segments live (/dev/shm, or --dir, FRAMERING_DIR):\n"
	"               its file system (a tmpfs?), whether you can create segments there\n"
	"  size         the file system's size against the segments in it\n"
	"  free         free space, against --need\n"
	"  huge pages   transparent huge pages for shared memory (shmem_enabled, and\n"
	"               the huge= option of the directory's tmpfs)\n"
	"  stale        segments whose users and creator all died, and who owns them\n"
	"  permissions  segments you cannot attach to, or that others may look at but\n"
	"               not use\n"
	"  inotify      the limits fr_fd() handles count against (one inotify instance\n"
	"               and one watch each): fs.inotify.max_user_instances/watches\n"
	"  anonymous    whether memfd_create works (anonymous segments, pub --anonymous)\n"
	"\n"
	"Options:\n"
	"  -n, --need BYTES   the room you are about to use (suffix K, M, G or T for\n"
	"                     KiB, MiB, GiB, TiB): FAIL when it is not free\n"
	"      --dir DIR      check DIR instead of /dev/shm (the same as FRAMERING_DIR=DIR)\n"
	"  -j, --json         print JSON: every check, the file system, the segments\n"
	"  -h, --help         this help\n"
	"\n"
	"Exit status: 0 when no check FAILs (warnings are allowed), 1 otherwise, with\n"
	"one line on stderr naming the checks that FAILed.\n";

/* What the command line asked for. */
struct doctor_opts {
	uint64_t need;
	bool need_given, as_json;
	bool help; /* --help: printed, nothing else to do */
};

enum level { LEVEL_OK, LEVEL_WARN, LEVEL_FAIL };
static const char *const level_names[] = { "OK", "WARN", "FAIL" };

#define MAX_CHECKS 12

struct check {
	const char *name;
	enum level level;
	char message[1024];
	char hint[512];
};

/* One file of the segment directory. */
struct entry {
	char *name;      /* "/name" */
	int status;      /* fr_stat's result: 0, -EACCES, -EPROTO (not a segment), ... */
	uint64_t bytes;  /* segment_bytes, or the file's size when it cannot be read */
	uid_t uid;
	gid_t gid;
	mode_t mode;
	bool usable;     /* this user may attach (read and write) */
	bool stale;
	int32_t creator_pid;
	const char *state; /* describe_state(), or "unreadable" */
};

/* Everything found, for the text lines and the JSON document. */
struct doctor {
	const char *dir;
	bool dir_ok; /* the checks that read the directory can run */
	char fstype[48];
	uint64_t fs_size, fs_free, seg_bytes;
	struct entry *entries;
	size_t n;
	struct check checks[MAX_CHECKS];
	int nchecks;
};

static int doctor_parse(int argc, char **argv, struct doctor_opts *o)
{
	static const struct option longopts[] = {
		{ "need", required_argument, NULL, 'n' },
		{ "dir", required_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = TOOL_OK;

	*o = (struct doctor_opts){ .as_json = false };
	opt_reset();
	while (!rc && (c = getopt_long(argc, argv, ":n:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			rc = opt_bytes("doctor", "--need", optarg, (uint64_t)1 << 62, &o->need);
			o->need_given = true;
			break;
		case 'D': rc = opt_dir("doctor", optarg); break;
		case 'j': o->as_json = true; break;
		case 'h': return opt_help(help, &o->help);
		default: return opt_getopt_error("doctor", argv, c);
		}
	}
	if (!rc && optind < argc)
		rc = opt_usage_error("doctor", "unexpected argument '%s'", argv[optind]);
	return rc;
}

/* Record one check's result; @hint NULL when there is nothing to do. */
static void report(struct doctor *d, const char *name, enum level level, const char *hint,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void report(struct doctor *d, const char *name, enum level level, const char *hint,
		   const char *fmt, ...)
{
	struct check *c;
	va_list ap;

	if (d->nchecks == MAX_CHECKS)
		return;
	c = &d->checks[d->nchecks++];
	c->name = name;
	c->level = level;
	va_start(ap, fmt);
	vsnprintf(c->message, sizeof(c->message), fmt, ap);
	va_end(ap);
	snprintf(c->hint, sizeof(c->hint), "%s", hint ? hint : "");
}

/* "512 bytes", "16.4 kB", "12.3 MB", "4.1 GB": decimal, as the rest of the command. */
static const char *human(char *buf, size_t len, uint64_t bytes)
{
	if (bytes < 10000)
		snprintf(buf, len, "%" PRIu64 " bytes", bytes);
	else if (bytes < 1000000)
		snprintf(buf, len, "%.1f kB", (double)bytes / 1e3);
	else if (bytes < 1000000000)
		snprintf(buf, len, "%.1f MB", (double)bytes / 1e6);
	else
		snprintf(buf, len, "%.1f GB", (double)bytes / 1e9);
	return buf;
}

/* Append to @buf (of @len bytes) what fits. */
static void append(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static const char *owner_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
	return buf;
}

static const char *fs_name(unsigned long type)
{
	switch (type) {
	case TMPFS_MAGIC: return "tmpfs";
	case HUGETLBFS_MAGIC: return "hugetlbfs";
	case RAMFS_MAGIC: return "ramfs";
	case EXT4_SUPER_MAGIC: return "ext2/3/4";
	case XFS_SUPER_MAGIC: return "xfs";
	case BTRFS_SUPER_MAGIC: return "btrfs";
	case OVERLAYFS_SUPER_MAGIC: return "overlayfs";
	case NFS_SUPER_MAGIC: return "nfs";
	case V9FS_MAGIC: return "9p";
	case FUSE_SUPER_MAGIC: return "fuse";
	default: return NULL;
	}
}

/* directory: there, a memory file system, writable, not open to replacement by others. */
static void check_directory(struct doctor *d)
{
	struct statfs fs;
	struct stat st;

	if (d->dir[0] != '/') {
		report(d, "directory", LEVEL_FAIL, "set FRAMERING_DIR to an absolute path",
		       "FRAMERING_DIR=%s: not an absolute path (the library refuses it)", d->dir);
		return;
	}
	if (stat(d->dir, &st) || statfs(d->dir, &fs)) {
		report(d, "directory", LEVEL_FAIL,
		       "create it, or mount a tmpfs there (mount -t tmpfs -o size=1g tmpfs DIR)",
		       "%s: %s", d->dir, strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		report(d, "directory", LEVEL_FAIL, "give --dir a directory", "%s: not a directory",
		       d->dir);
		return;
	}
	d->dir_ok = true;
	const char *name = fs_name((unsigned long)fs.f_type);
	if (name)
		snprintf(d->fstype, sizeof(d->fstype), "%s", name);
	else
		snprintf(d->fstype, sizeof(d->fstype), "0x%lx", (unsigned long)fs.f_type);
	bool memory = fs.f_type == TMPFS_MAGIC || fs.f_type == HUGETLBFS_MAGIC ||
		      fs.f_type == RAMFS_MAGIC;
	int create_err = access(d->dir, W_OK | X_OK) ? errno : 0;
	bool can_create = !create_err;
	bool open_to_all = (st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX);
	enum level level = memory && can_create && !open_to_all ? LEVEL_OK : LEVEL_WARN;
	const char *hint = NULL;
	char msg[600];

	snprintf(msg, sizeof(msg), "%s: %s, mode %04o", d->dir, d->fstype,
		 (unsigned)st.st_mode & 07777);
	if (!memory) {
		append(msg, sizeof(msg), ", not a memory file system: the kernel writes the "
					 "segments' pages back to disk");
		hint = "use a tmpfs (mount -t tmpfs -o size=1g tmpfs DIR; in Docker a tmpfs "
		       "volume)";
	}
	if (!can_create) {
		append(msg, sizeof(msg), ", you cannot create segments here (%s)",
		       strerror(create_err));
		hint = hint ? hint : "ask for write access, or use --dir with a directory of yours";
	}
	if (open_to_all) {
		append(msg, sizeof(msg), ", writable by everyone without the sticky bit: anyone "
					 "can remove or replace your segments");
		hint = hint ? hint : "chmod +t DIR (as /dev/shm and /tmp are)";
	}
	if (level == LEVEL_OK)
		append(msg, sizeof(msg), ", you can create segments here");
	report(d, "directory", level, hint, "%s", msg);
}

/* Every file of the directory that is a segment name, read with fr_stat. */
static int read_entries(struct doctor *d)
{
	char **names;
	size_t n;
	int rc = shm_list(&names, &n);

	if (rc)
		return rc;
	struct fr_info *info = malloc(sizeof(*info));
	d->entries = calloc(n ? n : 1, sizeof(*d->entries));
	int dfd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!info || !d->entries || dfd < 0) {
		rc = dfd < 0 ? -errno : -ENOMEM;
		free(info);
		if (dfd >= 0)
			close(dfd);
		shm_list_free(names);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		struct entry *e = &d->entries[d->n];
		struct stat st;
		if (fstatat(dfd, names[i] + 1, &st, AT_SYMLINK_NOFOLLOW))
			continue; /* gone meanwhile */
		e->status = fr_stat(names[i], info);
		if (e->status && e->status != -EACCES)
			continue; /* not a framering segment */
		e->name = names[i];
		names[i] = NULL; /* moved into the entry */
		e->uid = st.st_uid;
		e->gid = st.st_gid;
		e->mode = st.st_mode & 07777;
		e->usable = faccessat(dfd, e->name + 1, R_OK | W_OK, AT_EACCESS) == 0;
		e->bytes = e->status ? (uint64_t)st.st_size : info->segment_bytes;
		e->stale = !e->status && fr_info_is_stale(info) == 1;
		e->creator_pid = e->status ? 0 : info->creator_pid;
		e->state = e->status ? "unreadable" : describe_state(info);
		d->seg_bytes += e->bytes;
		d->n++;
	}
	close(dfd);
	free(info);
	/* The names not moved into an entry (shm_list_free would stop at the first NULL). */
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return 0;
}

/* size and free: the file system against the segments present and --need. */
static void check_space(struct doctor *d, const struct doctor_opts *o)
{
	char a[32], b[32], c[32];
	struct statvfs vfs;

	if (statvfs(d->dir, &vfs)) {
		report(d, "size", LEVEL_FAIL, NULL, "%s: %s", d->dir, strerror(errno));
		return;
	}
	d->fs_size = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	d->fs_free = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	bool small = d->fs_size < ((uint64_t)256 << 20);
	const char *hint = NULL;
	if (small && !strcmp(d->fstype, "hugetlbfs"))
		hint = "reserve huge pages: sysctl vm.nr_hugepages=N";
	else if (small && !strcmp(d->dir, "/dev/shm"))
		hint = "in Docker: docker run --shm-size=1g (compose: shm_size); elsewhere "
		       "mount -o remount,size=1g /dev/shm; or --dir a larger tmpfs";
	else if (small)
		hint = "a larger file system (tmpfs: mount -o remount,size=1g DIR)";
	report(d, "size", small ? LEVEL_WARN : LEVEL_OK, hint, "%s, %zu segment%s using %s%s",
	       human(a, sizeof(a), d->fs_size), d->n, d->n == 1 ? "" : "s",
	       human(b, sizeof(b), d->seg_bytes),
	       small ? "; small (Docker's /dev/shm is 64 MB): a ring of four 1920x1080 bgr24 "
		       "frames takes 25 MB"
		     : "");
	if (o->need_given && o->need > d->fs_free)
		report(d, "free", LEVEL_FAIL,
		       "remove what is not needed (framering rm --stale), or give the file "
		       "system more room",
		       "%s free, %s needed", human(a, sizeof(a), d->fs_free),
		       human(b, sizeof(b), o->need));
	else if (o->need_given)
		report(d, "free", LEVEL_OK, NULL, "%s free, %s needed",
		       human(a, sizeof(a), d->fs_free), human(b, sizeof(b), o->need));
	else if (d->fs_free < d->fs_size / 10)
		report(d, "free", LEVEL_WARN,
		       "remove what is not needed (framering rm --stale); --need BYTES checks "
		       "a size",
		       "%s free of %s", human(a, sizeof(a), d->fs_free),
		       human(c, sizeof(c), d->fs_size));
	else
		report(d, "free", LEVEL_OK, NULL, "%s free of %s", human(a, sizeof(a), d->fs_free),
		       human(c, sizeof(c), d->fs_size));
}

/* The bracketed word of a sysfs choice file ("always [never] ..."), or "". */
static void sysfs_choice(const char *path, char *out, size_t len)
{
	char line[256] = "";
	FILE *f = fopen(path, "re");

	out[0] = '\0';
	if (!f)
		return;
	if (fgets(line, sizeof(line), f)) {
		char *open = strchr(line, '['), *close = open ? strchr(open, ']') : NULL;
		if (open && close)
			snprintf(out, len, "%.*s", (int)(close - open - 1), open + 1);
	}
	fclose(f);
}

/* The huge= option of the tmpfs mounted at the longest prefix of @dir, or "". */
static void mount_huge_option(const char *dir, char *out, size_t len)
{
	char line[4096];
	size_t best = 0;
	FILE *f = fopen("/proc/self/mounts", "re");

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char dev[256], mnt[2048], type[64], opts[1024];
		if (sscanf(line, "%255s %2047s %63s %1023s", dev, mnt, type, opts) != 4)
			continue;
		size_t m = strlen(mnt);
		bool prefix = !strncmp(dir, mnt, m) && (dir[m] == '/' || !dir[m] || m == 1);
		if (!prefix || m < best)
			continue;
		best = m;
		out[0] = '\0';
		if (strcmp(type, "tmpfs"))
			continue;
		char *h = strstr(opts, "huge=");
		if (h)
			snprintf(out, len, "%.*s", (int)strcspn(h + 5, ","), h + 5);
		else
			snprintf(out, len, "never");
	}
	fclose(f);
}

/*
 * huge pages: memfd (anonymous segments) follows shmem_enabled; a tmpfs its
 * huge= mount option, unless shmem_enabled is deny or force. "always" gives a
 * small segment a whole 2 MB page; within_size only where the file is that
 * large.
 */
static void check_huge_pages(struct doctor *d)
{
	char shmem[32], mount[32] = "";
	bool tmpfs = !strcmp(d->fstype, "tmpfs");

	sysfs_choice("/sys/kernel/mm/transparent_hugepage/shmem_enabled", shmem, sizeof(shmem));
	if (tmpfs)
		mount_huge_option(d->dir, mount, sizeof(mount));
	if (!shmem[0]) {
		report(d, "huge pages", LEVEL_OK, NULL,
		       "no transparent huge pages for shared memory here (4 KiB pages)");
		return;
	}
	bool over = !strcmp(shmem, "force") || !strcmp(shmem, "always") ||
		    !strcmp(mount, "always");
	char msg[256];
	snprintf(msg, sizeof(msg), "shmem_enabled %s (anonymous segments)", shmem);
	if (tmpfs && mount[0])
		append(msg, sizeof(msg), ", %s mounted with huge=%s", d->dir, mount);
	else if (!strcmp(d->fstype, "hugetlbfs"))
		append(msg, sizeof(msg), ", %s is hugetlbfs: every segment rounds up to its "
					 "huge page size", d->dir);
	if (over)
		append(msg, sizeof(msg), ": every segment takes whole 2 MB pages, a small one "
					 "too");
	report(d, "huge pages", over ? LEVEL_WARN : LEVEL_OK,
	       over ? "within_size keeps huge pages for segments that fill them "
		      "(shmem_enabled, or mount -o huge=within_size)"
		    : NULL,
	       "%s", msg);
}

/* A short list of entries matching @pick: "/a (owner alice, 12.0 MB), /b (...)". */
static int list_entries(const struct doctor *d, bool (*pick)(const struct entry *),
			void (*describe)(const struct entry *, char *, size_t), char *out,
			size_t len)
{
	int count = 0;

	out[0] = '\0';
	for (size_t i = 0; i < d->n; i++) {
		if (!pick(&d->entries[i]))
			continue;
		if (count < 5) {
			char what[512];
			describe(&d->entries[i], what, sizeof(what));
			append(out, len, "%s%s", count ? ", " : "", what);
		}
		count++;
	}
	if (count > 5)
		append(out, len, " and %d more", count - 5);
	return count;
}

static bool is_stale(const struct entry *e)
{
	return e->stale;
}

static void describe_stale(const struct entry *e, char *out, size_t len)
{
	char owner[64], size[32];

	snprintf(out, len, "%s (owner %s, creator pid %d, %s)", e->name,
		 owner_name(e->uid, owner, sizeof(owner)), e->creator_pid,
		 human(size, sizeof(size), e->bytes));
}

static void check_stale(struct doctor *d)
{
	char list[900];
	int n = list_entries(d, is_stale, describe_stale, list, sizeof(list));

	if (!n)
		report(d, "stale", LEVEL_OK, NULL, "none of the %zu segment%s here is stale", d->n,
		       d->n == 1 ? "" : "s");
	else
		report(d, "stale", LEVEL_WARN,
		       "framering rm --stale removes them (as their owner, or root)",
		       "%d segment%s whose users and creator all died: %s", n, n == 1 ? "" : "s",
		       list);
}

/* Group or others may read it (info) but not write it (attach), or the reverse. */
static bool half_shared(const struct entry *e)
{
	mode_t g = (e->mode >> 3) & 06, o = e->mode & 06;

	return g == 04 || g == 02 || o == 04 || o == 02;
}

static bool has_permission_issue(const struct entry *e)
{
	return !e->usable || half_shared(e);
}

static void describe_permissions(const struct entry *e, char *out, size_t len)
{
	char owner[64];

	snprintf(out, len, "%s (owner %s, %04o: %s)", e->name,
		 owner_name(e->uid, owner, sizeof(owner)), (unsigned)e->mode,
		 !e->usable ? "you cannot attach" : "some may read it but not attach");
}

static void check_permissions(struct doctor *d)
{
	char list[900];
	int n = list_entries(d, has_permission_issue, describe_permissions, list, sizeof(list));

	if (!n)
		report(d, "permissions", LEVEL_OK, NULL,
		       "you can attach to each of the %zu segment%s here, and none is shared "
		       "half-way (readable but not writable)",
		       d->n, d->n == 1 ? "" : "s");
	else
		report(d, "permissions", LEVEL_WARN,
		       "share a segment with --perm 0660 and a common group (README: Sharing "
		       "a segment between users)",
		       "%s", list);
}

/* An integer from a /proc file, or -1. */
static long read_long(const char *path)
{
	FILE *f = fopen(path, "re");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* inotify instances and watches of this user's processes (those /proc lets us see). */
static void count_inotify(long *instances, long *watches)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	uid_t me = geteuid();

	*instances = *watches = 0;
	if (!proc)
		return;
	while ((de = readdir(proc))) {
		char path[300], link[64];
		struct stat st;
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s", de->d_name);
		if (stat(path, &st) || st.st_uid != me)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", de->d_name);
		DIR *fds = opendir(path);
		if (!fds)
			continue;
		struct dirent *fe;
		while ((fe = readdir(fds))) {
			char fdpath[600];
			snprintf(fdpath, sizeof(fdpath), "%s/%s", path, fe->d_name);
			ssize_t l = readlink(fdpath, link, sizeof(link) - 1);
			if (l < 0)
				continue;
			link[l] = '\0';
			if (strcmp(link, "anon_inode:inotify"))
				continue;
			(*instances)++;
			snprintf(fdpath, sizeof(fdpath), "/proc/%s/fdinfo/%s", de->d_name,
				 fe->d_name);
			FILE *info = fopen(fdpath, "re");
			char line[512];
			while (info && fgets(line, sizeof(line), info))
				if (!strncmp(line, "inotify wd:", 11))
					(*watches)++;
			if (info)
				fclose(info);
		}
		closedir(fds);
	}
	closedir(proc);
}

static void check_inotify(struct doctor *d)
{
	long max_inst = read_long("/proc/sys/fs/inotify/max_user_instances");
	long max_watch = read_long("/proc/sys/fs/inotify/max_user_watches");
	long inst, watches;

	if (access("/proc/self/fd", R_OK)) {
		report(d, "inotify", LEVEL_FAIL, "mount /proc (mount -t proc proc /proc)",
		       "/proc/self/fd: %s: fr_fd() cannot work without /proc", strerror(errno));
		return;
	}
	if (max_inst < 0 || max_watch < 0) {
		report(d, "inotify", LEVEL_WARN, NULL,
		       "cannot read fs.inotify.max_user_instances/max_user_watches");
		return;
	}
	count_inotify(&inst, &watches);
	long inst_left = max_inst - inst, watch_left = max_watch - watches;
	enum level level = inst_left <= 0 || watch_left <= 0 ? LEVEL_FAIL
			   : inst_left < 16 || watch_left < 64 ? LEVEL_WARN
								: LEVEL_OK;
	report(d, "inotify", level,
	       level == LEVEL_OK ? NULL
				 : "raise them: sysctl fs.inotify.max_user_instances=1024 "
				   "fs.inotify.max_user_watches=524288",
	       "%ld of %ld instances and %ld of %ld watches in use by uid %u; each fr_fd() "
	       "handle takes one of each%s",
	       inst, max_inst, watches, max_watch, (unsigned)geteuid(),
	       level == LEVEL_FAIL ? ": the next fr_fd() fails (-EMFILE/-ENOSPC)" : "");
}

/* anonymous: memfd_create and the seals anonymous segments get. */
static void check_anonymous(struct doctor *d)
{
	int fd = memfd_create("framering-doctor", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int err = fd < 0 ? errno : 0;

	if (!err && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		err = errno;
	if (fd >= 0)
		close(fd);
	if (err)
		report(d, "anonymous", LEVEL_WARN,
		       "named segments still work; in a container, allow memfd_create in its "
		       "seccomp profile",
		       "memfd_create with seals: %s: no anonymous segments (pub --anonymous)",
		       strerror(err));
	else
		report(d, "anonymous", LEVEL_OK, NULL,
		       "memfd_create works: anonymous segments (pub --anonymous --serve)");
}

/* The one line on stderr of a command that fails: which checks FAILed. TOOL_FAIL. */
static int report_failed(const struct doctor *d)
{
	char names[256] = "";
	int n = 0;

	for (int i = 0; i < d->nchecks; i++)
		if (d->checks[i].level == LEVEL_FAIL)
			append(names, sizeof(names), "%s%s", n++ ? ", " : "", d->checks[i].name);
	return tool_failf("doctor: %d check%s FAILed: %s", n, n == 1 ? "" : "s", names);
}

static void print_text(const struct doctor *d)
{
	for (int i = 0; i < d->nchecks; i++) {
		const struct check *c = &d->checks[i];
		printf("%-4s  %-11s  %s%s%s\n", level_names[c->level], c->name, c->message,
		       c->hint[0] ? "; hint: " : "", c->hint);
	}
}

static void print_json(const struct doctor *d, const struct doctor_opts *o, enum level worst)
{
	static const char *const lower[] = { "ok", "warn", "fail" };
	struct json j;

	json_init(&j, stdout, true);
	json_begin_object(&j, NULL);
	json_str(&j, "status", lower[worst]);
	json_str(&j, "dir", d->dir);
	if (o->need_given)
		json_u64(&j, "need", o->need);
	json_begin_array(&j, "checks");
	for (int i = 0; i < d->nchecks; i++) {
		const struct check *c = &d->checks[i];
		json_begin_object(&j, NULL);
		json_str(&j, "check", c->name);
		json_str(&j, "status", lower[c->level]);
		json_str(&j, "message", c->message);
		json_str(&j, "hint", c->hint[0] ? c->hint : NULL);
		json_end_object(&j);
	}
	json_end_array(&j);
	if (d->dir_ok) {
		json_begin_object(&j, "filesystem");
		json_str(&j, "type", d->fstype);
		json_u64(&j, "size", d->fs_size);
		json_u64(&j, "free", d->fs_free);
		json_u64(&j, "segment_bytes", d->seg_bytes);
		json_end_object(&j);
		json_begin_array(&j, "segments");
		for (size_t i = 0; i < d->n; i++) {
			const struct entry *e = &d->entries[i];
			char owner[64], perm[8];
			snprintf(perm, sizeof(perm), "%04o", (unsigned)e->mode);
			json_begin_object(&j, NULL);
			json_str(&j, "name", e->name);
			json_str(&j, "state", e->state);
			json_u64(&j, "bytes", e->bytes);
			json_u64(&j, "uid", e->uid);
			json_str(&j, "owner", owner_name(e->uid, owner, sizeof(owner)));
			json_str(&j, "perm", perm);
			json_bool(&j, "usable", e->usable);
			json_end_object(&j);
		}
		json_end_array(&j);
	}
	json_end_object(&j);
	json_finish(&j);
}

int cmd_doctor(int argc, char **argv)
{
	struct doctor_opts o;
	struct doctor d = { .dir = NULL };
	int rc = doctor_parse(argc, argv, &o);

	if (rc || o.help) /* --help printed by doctor_parse */
		return rc;
	d.dir = fr_segment_dir();
	check_directory(&d);
	if (d.dir_ok) {
		if ((rc = read_entries(&d)))
			report(&d, "segments", LEVEL_FAIL, NULL, "cannot list %s: %s", d.dir,
			       fr_strerror(rc));
		check_space(&d, &o);
		check_huge_pages(&d);
		check_stale(&d);
		check_permissions(&d);
	}
	check_inotify(&d);
	check_anonymous(&d);
	enum level worst = LEVEL_OK;
	for (int i = 0; i < d.nchecks; i++)
		if (d.checks[i].level > worst)
			worst = d.checks[i].level;
	if (o.as_json)
		print_json(&d, &o, worst);
	else
		print_text(&d);
	fflush(stdout);
	for (size_t i = 0; i < d.n; i++)
		free(d.entries[i].name);
	free(d.entries);
	return worst == LEVEL_FAIL ? report_failed(&d) : TOOL_OK;
}
