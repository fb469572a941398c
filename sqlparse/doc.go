// Package sqlparse finds, reads and parses migration files.
//
// Load (or Each, which streams) takes files and directories, finds the
// migrations of the common tools (plain SQL, Flyway, golang-migrate,
// goose, dbmate, sqitch and Liquibase formatted SQL), orders them the way
// the tool runs them and parses them concurrently. ParseFile parses one
// file's content, for example from stdin under a given name.
//
// Each file is split into statements with exact 1-based lines and columns
// (columns count characters), placeholders are substituted (${name},
// {{ expr }}, psql :name) with positions still pointing into the original
// file, and the statements are parsed with the real PostgreSQL parser
// (pg_query). A statement that does not parse gets a SyntaxError at its
// own position and every other statement is still parsed. Files over 5 MB,
// binary or non-UTF-8 files come back with Analysed false and a reason.
//
// Only the up part of a migration is reviewed; down parts (golang-migrate
// .down.sql, goose Down, dbmate migrate:down, Flyway U, sqitch revert,
// Liquibase --rollback) are parsed for syntax and marked PartDown.
//
// # Transactions
//
// Rules need to know whether a statement runs inside a transaction (CREATE
// INDEX CONCURRENTLY fails there; locks are held to COMMIT). The tools
// differ, and the layouts in layout.go say how each behaves, with sources:
//
//	tool            up part runs                                       TxMode
//	plain SQL       each statement on its own (psql)                   none
//	Flyway          one transaction per migration; none with           file
//	                executeInTransaction=false (.conf) or when it
//	                holds CREATE INDEX CONCURRENTLY & co.
//	golang-migrate  the whole file as ONE query string: PostgreSQL     implicit
//	                runs several statements as one implicit
//	                transaction; none with x-multi-statement
//	goose           one transaction; none with NO TRANSACTION          file
//	dbmate          one transaction per block; with transaction:false  file
//	                one query string, so still implicit
//	sqitch          psql without --single-transaction: only the        none
//	                script's own BEGIN/COMMIT
//	Liquibase       one transaction per changeset; none with           changeset
//	                runInTransaction:false
//
// On top of the tool's wrapping, the file's own BEGIN/COMMIT are followed
// (assignTransactions): each Statement gets InTransaction and a TxBlock
// number shared by the statements of one transaction.
package sqlparse
