package sqlparse

import (
	"bytes"
)

// region is a byte range of a file that the framework marks out: the up or
// down part, and the unit of execution (group) it belongs to.
type region struct {
	part       Part
	start, end int
	group      int
}

// group is a unit the tool executes: the whole file, a changeset, a goose
// section or StatementBegin/End block. Statements of one group share the
// tool's transaction, if it opens one.
type group struct {
	// mode is one of the TxMode constants, for this unit.
	mode string
	// reopen: after an explicit COMMIT (or ROLLBACK) inside the tool's
	// transaction, the next statement starts a new transaction. True for
	// JDBC connections with autocommit off (Flyway, Liquibase: the driver
	// sends BEGIN before the next statement) and for multi-statement query
	// strings (PostgreSQL opens a new implicit block for the rest of the
	// string; checked on PostgreSQL 15: "INSERT 1; COMMIT; INSERT 2; SELECT
	// 1/0" keeps row 1 only). False when the tool sends statements one by
	// one on a database/sql Tx (goose) or runs psql: later statements then
	// autocommit.
	reopen bool
}

// fileLayout is how a framework sees a file: its regions, the groups, and
// work, a copy of the source with annotation markers blanked (Liquibase's
// "--rollback " prefixes) so that the SQL inside them splits and parses
// at its own offsets. work is nil when it equals the source.
type fileLayout struct {
	regions []region
	groups  map[int]group
	work    []byte
	// finish, when set, runs after parsing (Flyway looks at the parsed
	// statements to decide on its transaction).
	finish func(*File, *fileLayout)
}

// layout returns the regions of a file for its framework and sets the
// file's TxMode and TxReason.
func layout(f *File, opts Options, h hint) *fileLayout {
	return toolOf(f.Framework).layout(f, opts, h)
}

func whole(f *File, part Part, g group) *fileLayout {
	return &fileLayout{
		regions: []region{{part: part, start: 0, end: len(f.text), group: 1}},
		groups:  map[int]group{1: g},
	}
}

// isCommentLine reports whether a line starts with "--" (after blanks),
// a cheap test before the annotation regexps.
func isCommentLine(line []byte) bool {
	line = bytes.TrimLeft(line, " \t")
	return len(line) >= 2 && line[0] == '-' && line[1] == '-'
}

// eachLine walks the lines of src: start offset, end offset (before the
// newline) and the offset of the next line.
func eachLine(src []byte, fn func(start, end int)) {
	for start := 0; start < len(src); {
		end := bytes.IndexByte(src[start:], '\n')
		next := 0
		if end < 0 {
			end, next = len(src), len(src)
		} else {
			end += start
			next = end + 1
		}
		fn(start, end)
		start = next
	}
}
