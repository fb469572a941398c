// Package sqlparse finds, reads and parses migration files.
//
// It knows the conventions of the common migration tools (plain SQL,
// Flyway, golang-migrate, goose, dbmate, sqitch and Liquibase formatted
// SQL): how they order files, which part of a file is the forward ("up")
// migration, and whether they run it inside a transaction. Each file is
// split into statements with exact 1-based lines and columns, placeholders
// are substituted, and each statement is parsed on its own with the real
// PostgreSQL parser (pg_query), so one bad statement does not hide the
// others.
package sqlparse
