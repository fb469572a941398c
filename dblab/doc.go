// Package dblab makes clones of a database and measures migrations on them.
//
// A Provider makes a Clone: a disposable copy of the database with its own
// DSN and a Release function. Two providers exist: dblab/dle (the DBLab
// Engine HTTP API, thin clones of production-sized data in seconds) and
// dblab/localpg (CREATE DATABASE … TEMPLATE on a PostgreSQL server the user
// names). Experiments never know which provider made their clone. WithClone
// releases the clone on every path (error, timeout, panic, cancellation by
// SIGINT), and each provider has a Sweep that removes clones older than
// their time to live, also those left behind by a crashed run.
//
// Experiment applies the up statements of migrations on a clone, in order
// and with the transaction model of their tool, and measures each
// statement: duration, the locks it takes (read from pg_locks by a second
// connection, keyed by OID) with how long each is held, table rewrites
// (relfilenode changes), validation scans, rows, WAL, sizes, plans of DML,
// and optionally how long a concurrent reader and writer had to wait.
// Merge turns the measurements into findings that confirm or refute the
// static ones under the same rule ids.
package dblab
