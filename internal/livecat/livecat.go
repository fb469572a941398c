// Package livecat reads the schema of a live PostgreSQL database, read
// only, for `reviewer check --schema-dsn`: the tables with their columns'
// types and nullability, constraints and indexes, as DDL that the review
// core teaches the rules like a schema dump, and each table's size and row
// estimate (checks.TableStats) for size-aware verdicts.
//
// Only the catalogs and the size functions are read (pg_class,
// pg_attribute, pg_constraint, pg_index, pg_table_size, pg_indexes_size),
// inside a READ ONLY transaction with short timeouts: no table data is
// read and nothing is written. Any role that can connect sees the
// catalogs; sizes of tables it cannot access are still reported by
// pg_table_size.
package livecat

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"gitlab.com/pgai/reviewer/checks"
)

// Snapshot is what was read: DDL declaring every user table, and the
// sizes keyed by schema and table name.
type Snapshot struct {
	// DDL holds CREATE TABLE, ALTER TABLE … ADD CONSTRAINT and CREATE
	// INDEX statements, in an order PostgreSQL would accept.
	DDL string
	// Stats lists the size of every table of DDL.
	Stats []TableStats
	// Server is the server's version string (SHOW server_version).
	Server string
}

// TableStats is one table's size.
type TableStats struct {
	Schema, Table string
	checks.TableStats
}

// Read connects to dsn and reads the schema of every table outside the
// system schemas. It fails with a clear error when the database cannot be
// reached or read.
func Read(ctx context.Context, dsn string) (*Snapshot, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("schema dsn: %w", err)
	}
	cfg.RuntimeParams["application_name"] = "pgai-reviewer schema read"
	cfg.RuntimeParams["default_transaction_read_only"] = "on"
	cfg.RuntimeParams["statement_timeout"] = "30s"
	cfg.RuntimeParams["lock_timeout"] = "5s"
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("schema dsn: connect to %s: %w", cfg.Host, err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return nil, fmt.Errorf("schema dsn: begin read-only transaction: %w", err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // read only: nothing to keep
	s := &Snapshot{}
	if err := tx.QueryRow(ctx, "SHOW server_version").Scan(&s.Server); err != nil {
		return nil, fmt.Errorf("schema dsn: server version: %w", err)
	}
	var b strings.Builder
	if err := readTables(ctx, tx, s, &b); err != nil {
		return nil, err
	}
	if err := readConstraints(ctx, tx, &b); err != nil {
		return nil, err
	}
	if err := readIndexes(ctx, tx, &b); err != nil {
		return nil, err
	}
	s.DDL = b.String()
	return s, nil
}

// userRelations selects ordinary and partitioned tables outside the
// system schemas and extensions' own objects.
const userRelations = `
	c.relkind IN ('r', 'p')
	AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
	AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'
	AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`

func readTables(ctx context.Context, tx pgx.Tx, s *Snapshot, b *strings.Builder) error {
	rows, err := tx.Query(ctx, `
SELECT n.nspname, c.relname, c.oid::bigint,
       pg_table_size(c.oid), pg_indexes_size(c.oid), c.reltuples::bigint,
       COALESCE(pg_get_partkeydef(c.oid), '')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE `+userRelations+`
ORDER BY n.nspname, c.relname`)
	if err != nil {
		return fmt.Errorf("schema dsn: list tables: %w", err)
	}
	type table struct {
		schema, name, partkey string
		oid                   int64
	}
	var tables []table
	for rows.Next() {
		var t table
		var st TableStats
		if err := rows.Scan(&t.schema, &t.name, &t.oid, &st.Bytes, &st.IndexBytes, &st.Rows, &t.partkey); err != nil {
			rows.Close()
			return fmt.Errorf("schema dsn: list tables: %w", err)
		}
		st.Schema, st.Table = t.schema, t.name
		tables = append(tables, t)
		s.Stats = append(s.Stats, st)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("schema dsn: list tables: %w", err)
	}
	cols, err := tx.Query(ctx, `
SELECT a.attrelid::bigint, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped AND `+userRelations+`
ORDER BY a.attrelid, a.attnum`)
	if err != nil {
		return fmt.Errorf("schema dsn: list columns: %w", err)
	}
	byOid := map[int64][]string{}
	for cols.Next() {
		var oid int64
		var name, typ string
		var notNull bool
		if err := cols.Scan(&oid, &name, &typ, &notNull); err != nil {
			cols.Close()
			return fmt.Errorf("schema dsn: list columns: %w", err)
		}
		def := quoteIdent(name) + " " + typ
		if notNull {
			def += " NOT NULL"
		}
		byOid[oid] = append(byOid[oid], def)
	}
	cols.Close()
	if err := cols.Err(); err != nil {
		return fmt.Errorf("schema dsn: list columns: %w", err)
	}
	for _, t := range tables {
		fmt.Fprintf(b, "CREATE TABLE %s.%s (\n    %s\n)", quoteIdent(t.schema), quoteIdent(t.name), strings.Join(byOid[t.oid], ",\n    "))
		if t.partkey != "" {
			b.WriteString(" PARTITION BY " + t.partkey)
		}
		b.WriteString(";\n")
	}
	return nil
}

func readConstraints(ctx context.Context, tx pgx.Tx, b *strings.Builder) error {
	// Primary and unique keys first: foreign keys need them.
	rows, err := tx.Query(ctx, `
SELECT n.nspname, c.relname, k.conname, pg_get_constraintdef(k.oid)
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE k.contype IN ('p', 'u', 'c', 'f', 'x') AND k.conislocal AND `+userRelations+`
ORDER BY CASE k.contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 WHEN 'x' THEN 2 WHEN 'c' THEN 3 ELSE 4 END, n.nspname, c.relname, k.conname`)
	if err != nil {
		return fmt.Errorf("schema dsn: list constraints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var schema, table, name, def string
		if err := rows.Scan(&schema, &table, &name, &def); err != nil {
			return fmt.Errorf("schema dsn: list constraints: %w", err)
		}
		fmt.Fprintf(b, "ALTER TABLE ONLY %s.%s ADD CONSTRAINT %s %s;\n", quoteIdent(schema), quoteIdent(table), quoteIdent(name), def)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("schema dsn: list constraints: %w", err)
	}
	return nil
}

func readIndexes(ctx context.Context, tx pgx.Tx, b *strings.Builder) error {
	// Indexes behind constraints came with the constraints.
	rows, err := tx.Query(ctx, `
SELECT pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))
  AND `+userRelations+`
ORDER BY n.nspname, c.relname, i.indexrelid`)
	if err != nil {
		return fmt.Errorf("schema dsn: list indexes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var def string
		if err := rows.Scan(&def); err != nil {
			return fmt.Errorf("schema dsn: list indexes: %w", err)
		}
		b.WriteString(def + ";\n")
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("schema dsn: list indexes: %w", err)
	}
	return nil
}

// quoteIdent quotes an identifier as PostgreSQL's quote_ident does when
// it must: always, which is equivalent and simpler.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
