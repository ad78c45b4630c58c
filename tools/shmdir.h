/* Names of the files under /dev/shm, for `ls` and `rm --stale`. */
#ifndef FRAMERING_SHMDIR_H
#define FRAMERING_SHMDIR_H

#include <stddef.h>

#define SHM_DIR "/dev/shm"

/*
 * Sorted names ("/name") of the regular files under /dev/shm whose names are
 * valid segment names. *names is a NULL-terminated array to free with
 * shm_list_free(). 0 or a negative errno.
 */
int shm_list(char ***names, size_t *count);
void shm_list_free(char **names);

#endif /* FRAMERING_SHMDIR_H */
