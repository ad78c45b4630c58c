/*
 * Names of the files where named segments live (fr_segment_dir(): /dev/shm,
 * or FRAMERING_DIR), for `ls`, `rm --stale` and `doctor`.
 */
#ifndef FRAMERING_SHMDIR_H
#define FRAMERING_SHMDIR_H

#include <stddef.h>

/*
 * Sorted names ("/name") of the regular files in fr_segment_dir() whose names
 * are valid segment names. *names is a NULL-terminated array to free with
 * shm_list_free(). 0 or a negative errno (-EINVAL: FRAMERING_DIR is not an
 * absolute path, which the library refuses too).
 */
int shm_list(char ***names, size_t *count);
void shm_list_free(char **names);

#endif /* FRAMERING_SHMDIR_H */
