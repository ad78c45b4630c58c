/* Listing the segment directory: see shmdir.h. */
#include "shmdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "framering.h"

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void shm_list_free(char **names)
{
	if (!names)
		return;
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}

int shm_list(char ***names, size_t *count)
{
	const char *path = fr_segment_dir();
	char **list = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int rc = 0;

	if (path[0] != '/')
		return -EINVAL;
	DIR *dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		struct stat st;
		if (de->d_name[0] == '.' || fr_name_check(de->d_name))
			continue;
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode))
			continue;
		if (n + 2 > cap) {
			size_t ncap = cap ? 2 * cap : 32;
			char **nl = realloc(list, ncap * sizeof(*nl));
			if (!nl) {
				rc = -ENOMEM;
				break;
			}
			list = nl;
			cap = ncap;
		}
		size_t len = strlen(de->d_name) + 2;
		if (!(list[n] = malloc(len))) {
			rc = -ENOMEM;
			break;
		}
		snprintf(list[n], len, "/%s", de->d_name);
		list[++n] = NULL;
	}
	closedir(dir);
	if (rc) {
		if (list)
			list[n] = NULL;
		shm_list_free(list);
		return rc;
	}
	if (!list && !(list = calloc(1, sizeof(*list))))
		return -ENOMEM;
	qsort(list, n, sizeof(*list), by_name);
	*names = list;
	*count = n;
	return 0;
}
