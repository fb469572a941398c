/*
 * locks.h
 *	  Fixture header: declarations the knowledge base splits one by one.
 */
#ifndef LOCKS_H
#define LOCKS_H

#include "c.h"

/* A bit per lock mode. */
typedef int LOCKMASK;

/*
 * The lock modes, weakest first.
 */
typedef enum LockModeKind
{
	ACCESS_SHARE,				/* SELECT */
	ACCESS_EXCLUSIVE			/* most DDL */
} LockModeKind;

/* Conversions between modes and bits. */
#define LOCKBIT_ON(m) (1 << (m))
#define LOCKBIT_OFF(m) (~(1 << (m)))

struct LockHolder
{
	int			pid;
	LOCKMASK	held;
};

extern bool lock_conflicts(int held, int requested);
extern const char *lock_mode_name(int mode);

#endif							/* LOCKS_H */
