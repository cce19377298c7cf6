/*
 * store-migrations.h: the schema migrations compiled into the daemon
 * (generated from schema/NNN-*.sql by schema/embed-sql.sh).
 */
#ifndef STORE_MIGRATIONS_H
#define STORE_MIGRATIONS_H

#include <stddef.h>

struct migration {
	int		 version;	/* NNN of the file name */
	const char	*name;		/* file name without .sql */
	const char	*sql;		/* the whole file */
};

extern const struct migration migrations[];
extern const size_t nmigrations;

#endif
