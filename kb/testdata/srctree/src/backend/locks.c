/*-------------------------------------------------------------------------
 *
 * locks.c
 *	  Test fixture in the style of the PostgreSQL sources.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#define LOCK_NAME(m) \
	lock_mode_names[(m)]

static const char *const lock_mode_names[] = {
	"INVALID",
	"AccessShareLock",
	"AccessExclusiveLock",
};

/*
 * lock_conflicts
 *		Returns true when the two lock modes conflict: an ACCESS EXCLUSIVE
 *		lock conflicts with every other mode, even ACCESS SHARE.
 */
static bool
lock_conflicts(int held, int requested)
{
	if (held == 2 || requested == 2)
		return true;			/* "}" in a comment must not end the function */
	return false;
}

/* Name of a lock mode, for messages like "waiting for {lock}". */
const char *
lock_mode_name(int mode)
{
	const char *s = "{";

	(void) s;
	return LOCK_NAME(mode);
}
