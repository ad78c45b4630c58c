/*
 * Where named segments live, and what a name may be: POSIX shared memory
 * (/dev/shm) by default, or the directory FRAMERING_DIR names (another
 * tmpfs, a volume two containers share). Anonymous segments have no name
 * here (segment.c makes them with memfd_create).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

FR_API int fr_name_check(const char *name)
{
	if (!name)
		return -EINVAL;
	if (name[0] == '/')
		name++;
	size_t n = strnlen(name, FR_NAME_MAX + 1);
	if (n == 0)
		return -EINVAL;
	if (n > FR_NAME_MAX)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		if (!ok)
			return -EINVAL;
	}
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	return 0;
}

/* FRAMERING_DIR, when set and not empty; NULL for POSIX shared memory. */
static const char *dir_override(void)
{
	const char *dir = getenv("FRAMERING_DIR");
	return dir && dir[0] ? dir : NULL;
}

FR_API const char *fr_segment_dir(void)
{
	const char *dir = dir_override();
	return dir ? dir : "/dev/shm";
}

/* The file of segment @name: "/name" for shm_open, or "DIR/name". */
static int segment_path(const char *name, char out[PATH_MAX], bool *in_dir)
{
	int rc = fr_name_check(name);
	if (rc < 0)
		return rc;
	if (name[0] == '/')
		name++;
	const char *dir = dir_override();
	*in_dir = dir != NULL;
	if (!dir) {
		snprintf(out, PATH_MAX, "/%s", name);
		return 0;
	}
	if (dir[0] != '/')
		return -EINVAL; /* a relative directory would depend on the cwd */
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

int fri_segment_open(const char *name, int oflag, mode_t mode)
{
	char path[PATH_MAX];
	bool in_dir;
	int rc = segment_path(name, path, &in_dir);
	if (rc < 0)
		return rc;
	/* O_NOFOLLOW: a symlink planted in a shared directory is not followed. */
	int fd = in_dir ? open(path, oflag | O_NOFOLLOW | O_CLOEXEC, mode)
			: shm_open(path, oflag | O_CLOEXEC, mode);
	return fd >= 0 ? fd : -errno;
}

FR_API int fr_unlink(const char *name)
{
	char path[PATH_MAX];
	bool in_dir;
	int rc = segment_path(name, path, &in_dir);
	if (rc < 0)
		return rc;
	rc = in_dir ? unlink(path) : shm_unlink(path);
	return rc == 0 ? 0 : -errno;
}
