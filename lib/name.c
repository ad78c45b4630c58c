/* Segment names: what fr_create/fr_open accept, and the shm_open name for it. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

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

int fri_shm_name(const char *name, char out[FR_NAME_MAX + 2])
{
	int rc = fr_name_check(name);
	if (rc < 0)
		return rc;
	if (name[0] == '/')
		name++;
	out[0] = '/';
	strcpy(out + 1, name);
	return 0;
}

FR_API int fr_unlink(const char *name)
{
	char shm[FR_NAME_MAX + 2];
	int rc = fri_shm_name(name, shm);
	if (rc < 0)
		return rc;
	return shm_unlink(shm) == 0 ? 0 : -errno;
}
