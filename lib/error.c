/* Error text for the negative errno values the library returns. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "internal.h"

FR_API const char *fr_strerror(int err)
{
	/* -INT_MIN does not fit in an int: negate in unsigned arithmetic. */
	unsigned e = err < 0 ? 0u - (unsigned)err : (unsigned)err;
	if (e > INT_MAX)
		return "unknown error";
	switch ((int)e) {
	case 0: return "success";
	case EINVAL: return "invalid argument";
	case ENAMETOOLONG: return "segment name too long";
	case EEXIST: return "segment already exists";
	case ENOENT: return "no such segment";
	case EACCES: return "permission denied";
	case EAGAIN: return "not ready (try again)";
	case ETIMEDOUT: return "timed out";
	case EINTR: return "interrupted by a signal";
	case EPIPE: return "end of stream";
	case EBUSY: return "role already taken";
	case EPROTO: return "not a framering segment, incompatible or corrupted";
	case ENOSPC: return "no room in shared memory";
	case ENOMEM: return "out of memory";
	case ECHILD:
		return "handle inherited across fork(): open the segment again in this process";
	default: return strerror((int)e);
	}
}
