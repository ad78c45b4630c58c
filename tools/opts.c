/* Command-line parsing helpers: see opts.h. */
#include "opts.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "framering.h"
#include "tool.h"

int opt_usage_error(const char *cmd, const char *fmt, ...)
{
	char text[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return tool_usagef("%s: %s (see 'framering %s --help')", cmd, text, cmd);
}

int opt_one_name(const char *cmd, int argc, char **argv, const char **name)
{
	if (optind != argc - 1)
		return opt_usage_error(cmd, optind >= argc ? "a segment NAME is needed"
							   : "unexpected argument '%s'",
				       argv[optind + (optind < argc)]);
	*name = argv[optind];
	if (fr_name_check(*name))
		return opt_usage_error(cmd, "'%s': a name is 1..%d of A-Z a-z 0-9 . _ -", *name,
				       FR_NAME_MAX);
	return TOOL_OK;
}

int opt_getopt_error(const char *cmd, char **argv, int c)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		return opt_usage_error(cmd, "option '%s' needs a value", arg);
	if (optopt && !(arg[0] == '-' && arg[1] == '-'))
		return opt_usage_error(cmd, "unknown option '-%c'", optopt);
	return opt_usage_error(cmd, "unknown option '%s'", arg);
}

int opt_help(const char *text, bool *help)
{
	fputs(text, stdout);
	*help = true;
	return TOOL_OK;
}

void opt_reset(void)
{
	optind = 0; /* GNU: full re-initialisation */
	opterr = 0;
}

/* Strict decimal: digits only, no sign, no blanks, no overflow. */
static bool parse_uint(const char *s, char **end, uint64_t *out)
{
	if (!isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, end, 10);
	if (errno == ERANGE)
		return false;
	*out = v;
	return true;
}

int opt_u64(const char *cmd, const char *opt, const char *s, uint64_t min, uint64_t max,
	    uint64_t *out)
{
	char *end;
	uint64_t v;

	if (!parse_uint(s, &end, &v) || *end)
		return opt_usage_error(cmd, "%s '%s': not a number", opt, s);
	if (v < min || v > max)
		return opt_usage_error(cmd, "%s %s: out of range %llu..%llu", opt, s,
				       (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return TOOL_OK;
}

int opt_u32(const char *cmd, const char *opt, const char *s, uint32_t min, uint32_t max,
	    uint32_t *out)
{
	uint64_t v = 0; /* set when opt_u64 succeeds; the compiler cannot see that */
	int rc = opt_u64(cmd, opt, s, min, max, &v);

	if (rc)
		return rc;
	*out = (uint32_t)v;
	return TOOL_OK;
}

int opt_bytes(const char *cmd, const char *opt, const char *s, uint64_t max, uint64_t *out)
{
	static const char units[] = "KMGT";
	const char *unit = NULL;
	char *end;
	uint64_t v;

	bool ok = parse_uint(s, &end, &v);
	if (ok && *end) {
		unit = strchr(units, toupper((unsigned char)*end));
		ok = unit && !end[1];
	}
	if (!ok)
		return opt_usage_error(cmd, "%s '%s': not a byte count (e.g. 4096, 512M, 2G)", opt,
				       s);
	unsigned shift = unit ? 10 * (unsigned)(unit - units + 1) : 0;
	if (v > (max >> shift))
		return opt_usage_error(cmd, "%s %s: more than %llu bytes", opt, s,
				       (unsigned long long)max);
	*out = v << shift;
	return TOOL_OK;
}

int opt_double(const char *cmd, const char *opt, const char *s, double min, double max,
	       double *out)
{
	char *end;

	if (!isdigit((unsigned char)s[0]) && s[0] != '.')
		return opt_usage_error(cmd, "%s '%s': not a number", opt, s);
	errno = 0;
	double v = strtod(s, &end);
	if (*end || errno == ERANGE || !isfinite(v))
		return opt_usage_error(cmd, "%s '%s': not a number", opt, s);
	if (v < min || v > max)
		return opt_usage_error(cmd, "%s %s: out of range %g..%g", opt, s, min, max);
	*out = v;
	return TOOL_OK;
}

int opt_wait(const char *cmd, const char *arg, const char *next, double *seconds)
{
	if (arg)
		return opt_double(cmd, "--wait", arg, 0, 1e6, seconds);
	/* An optional value must follow '='; a number after a blank is a mistake. */
	if (next && next[strspn(next, "0123456789.")] == '\0')
		return opt_usage_error(cmd, "--wait %s: the value goes after '=' (--wait=%s)", next,
				       next);
	*seconds = INFINITY;
	return TOOL_OK;
}

int opt_size(const char *cmd, const char *opt, const char *s, uint32_t *w, uint32_t *h)
{
	char *end;
	uint64_t vw, vh;

	if (!parse_uint(s, &end, &vw) || (*end != 'x' && *end != 'X') ||
	    !parse_uint(end + 1, &end, &vh) || *end)
		return opt_usage_error(cmd, "%s '%s': expected WIDTHxHEIGHT, e.g. 1280x720", opt,
				       s);
	if (vw < 1 || vh < 1 || vw > 65535 || vh > 65535)
		return opt_usage_error(cmd, "%s %s: width and height must be 1..65535", opt, s);
	*w = (uint32_t)vw;
	*h = (uint32_t)vh;
	return TOOL_OK;
}

int opt_format(const char *cmd, const char *opt, const char *s, uint32_t *format)
{
	int f = fr_format_from_name(s);

	if (f < 0) {
		char list[256] = "";
		size_t n = 0;
		for (uint32_t i = 0; i < FR_FORMAT_COUNT; i++) {
			const char *name = fr_format_name(i);
			if (name)
				n += (size_t)snprintf(list + n,
						      n < sizeof(list) ? sizeof(list) - n : 0,
						      "%s%s", i ? "|" : "", name);
		}
		return opt_usage_error(cmd, "%s '%s': unknown format (one of %s)", opt, s, list);
	}
	*format = (uint32_t)f;
	return TOOL_OK;
}

int opt_dir(const char *cmd, const char *dir)
{
	char *abs = realpath(dir, NULL); /* the library wants an absolute path */
	struct stat st;

	if (!abs)
		return tool_failf("%s: --dir %s: %s", cmd, dir, strerror(errno));
	int rc = stat(abs, &st) ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
	if (!rc && setenv("FRAMERING_DIR", abs, 1))
		rc = errno;
	free(abs);
	return rc ? tool_failf("%s: --dir %s: %s", cmd, dir, strerror(rc)) : TOOL_OK;
}

static const char *const mode_names[] = { [FR_SPSC] = "spsc",
					  [FR_MPMC] = "mpmc",
					  [FR_BROADCAST] = "broadcast" };

const char *opt_mode_name(uint32_t mode)
{
	if (mode < sizeof(mode_names) / sizeof(mode_names[0]) && mode_names[mode])
		return mode_names[mode];
	return "?";
}

int opt_mode(const char *cmd, const char *opt, const char *s, uint32_t *mode)
{
	for (uint32_t m = 0; m < sizeof(mode_names) / sizeof(mode_names[0]); m++) {
		if (mode_names[m] && strcasecmp(s, mode_names[m]) == 0) {
			*mode = m;
			return TOOL_OK;
		}
	}
	return opt_usage_error(cmd, "%s '%s': unknown mode (one of spsc|mpmc|broadcast)", opt, s);
}

int opt_perm(const char *cmd, const char *opt, const char *s, uint32_t *perm)
{
	char *end;

	if (!s[0] || strspn(s, "01234567") != strlen(s) || strlen(s) > 4)
		return opt_usage_error(cmd, "%s '%s': expected an octal file mode, e.g. 0660", opt,
				       s);
	unsigned long v = strtoul(s, &end, 8);
	if (v > 0777)
		return opt_usage_error(cmd, "%s %s: only permission bits (at most 0777)", opt, s);
	if ((v & 0600) != 0600)
		return opt_usage_error(cmd, "%s %s: the owner needs read and write (0600)", opt, s);
	*perm = (uint32_t)v;
	return TOOL_OK;
}
