package sqlparse

import (
	"bytes"
	"fmt"
	"sort"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// MaxFileSize is the default size above which a file is not analysed.
const MaxFileSize = 5 << 20

// Framework names a migration tool whose file conventions we follow.
type Framework string

// The frameworks we understand. FrameworkAuto asks for detection.
const (
	FrameworkAuto          Framework = ""
	FrameworkSQL           Framework = "sql"
	FrameworkFlyway        Framework = "flyway"
	FrameworkGolangMigrate Framework = "golang-migrate"
	FrameworkGoose         Framework = "goose"
	FrameworkDbmate        Framework = "dbmate"
	FrameworkSqitch        Framework = "sqitch"
	FrameworkLiquibase     Framework = "liquibase"
)

// Frameworks lists the names accepted by --framework.
var Frameworks = []Framework{FrameworkSQL, FrameworkFlyway, FrameworkGolangMigrate, FrameworkGoose, FrameworkDbmate, FrameworkSqitch, FrameworkLiquibase}

// Part says whether a statement belongs to the forward (up) or the
// rollback (down) migration. Only up parts are reviewed; down parts are
// checked for syntax.
type Part string

// The parts of a migration.
const (
	PartUp   Part = "up"
	PartDown Part = "down"
)

// Pos is a 1-based line and column (in characters) in a file.
type Pos struct {
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// SyntaxError is a statement the PostgreSQL parser rejected.
type SyntaxError struct {
	Path string
	Pos  Pos // where the parser stopped, in the original file
	Msg  string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.Path, e.Pos.Line, e.Pos.Col, e.Msg)
}

// Statement is one SQL statement of a migration file.
type Statement struct {
	// Index is the 0-based position of the statement among the file's
	// statements (up and down parts numbered together, in file order).
	Index int
	Part  Part
	// Text is the statement as written in the file, without the
	// terminating semicolon. SQL is Text after placeholder substitution:
	// what was parsed.
	Text, SQL string
	// Start and End delimit the statement in the file; End is inclusive
	// (the terminating semicolon when there is one).
	Start, End Pos
	// StartOffset and EndOffset are byte offsets of Text in the file.
	StartOffset, EndOffset int
	// Node is the parsed statement; nil when Err is set.
	Node *Node
	// Err is set when the parser rejected the statement.
	Err *SyntaxError
	// Leading are the comments between the previous statement and this one
	// (where ignore directives live).
	Leading []Comment
	// InTransaction is true when the statement runs inside a transaction
	// block: the tool's own wrapping, or an explicit BEGIN in the file.
	InTransaction bool
	// TxBlock numbers the transaction the statement runs in: statements
	// with the same non-zero TxBlock share one transaction; 0 means the
	// statement runs on its own (autocommit).
	TxBlock int
	// Unresolved lists placeholders that had no value and were replaced by
	// their bare name so that the statement still parses.
	Unresolved []string

	fp string
}

// Fingerprint is pg_query's fingerprint of the statement, equal for
// statements that differ only in whitespace, comments and constants. Empty
// for statements that do not parse.
func (s *Statement) Fingerprint() string {
	if s.fp == "" && s.Err == nil && s.Node != nil {
		s.fp = fingerprint(s.SQL)
	}
	return s.fp
}

// File is a migration file, read and parsed.
type File struct {
	Path      string
	Framework Framework
	// Version orders migrations (e.g. "2" of V2__x.sql, a timestamp for
	// goose or dbmate, the plan position for sqitch). Empty for plain SQL.
	Version string
	// InTransaction is true when the tool runs the file's up part inside a
	// transaction (the whole file, or each changeset).
	InTransaction bool
	// TxMode describes the tool's wrapping in words: "file" (one
	// transaction for the whole up part), "changeset" (one per changeset),
	// "none".
	TxMode string
	// Statements holds every statement in file order, up and down parts.
	Statements []*Statement
	// Comments holds every comment of the file, in order.
	Comments []Comment
	// Analysed is false when the file was skipped; SkippedReason says why.
	Analysed      bool
	SkippedReason string
	// Src is the file's content.
	Src []byte

	lines []int // byte offset of the start of each line
}

// Up returns the statements of the up part.
func (f *File) Up() []*Statement { return f.part(PartUp) }

// Down returns the statements of the down part.
func (f *File) Down() []*Statement { return f.part(PartDown) }

func (f *File) part(p Part) []*Statement {
	var out []*Statement
	for _, s := range f.Statements {
		if s.Part == p {
			out = append(out, s)
		}
	}
	return out
}

// Position converts a byte offset in the file to a 1-based line and column.
// Columns count characters, not bytes.
func (f *File) Position(off int) Pos {
	if f.lines == nil {
		f.lines = []int{0}
		for i, b := range f.Src {
			if b == '\n' {
				f.lines = append(f.lines, i+1)
			}
		}
	}
	if off < 0 {
		off = 0
	}
	if off > len(f.Src) {
		off = len(f.Src)
	}
	line := sort.Search(len(f.lines), func(i int) bool { return f.lines[i] > off }) - 1
	col := utf8.RuneCount(f.Src[f.lines[line]:off]) + 1
	return Pos{Line: line + 1, Col: col}
}

// Options control how files are read.
type Options struct {
	// Framework forces a framework; empty means detect it.
	Framework Framework
	// Vars are placeholder values: ${name} (Flyway and generic), :name,
	// :'name' and :"name" (psql).
	Vars map[string]string
	// Templates maps Go-template expressions, as written between {{ and }}
	// and trimmed (e.g. ".Schema"), to their values.
	Templates map[string]string
	// MaxFileSize overrides MaxFileSize when positive.
	MaxFileSize int64
	// AssumeInTransaction treats plain SQL files as run in one transaction
	// (psql --single-transaction, or a runner we do not know).
	AssumeInTransaction bool
}

// region is a part of a file that the framework marks out: up or down,
// whether its statements share one transaction, and whether it is one
// statement that must not be split (goose StatementBegin/End).
type region struct {
	part    Part
	start   int
	end     int
	tx      bool
	noSplit bool
}

// ParseFile splits and parses one migration file. It never fails: problems
// become syntax errors on statements, or a skipped file with a reason.
func ParseFile(path string, src []byte, opts Options) *File {
	f := &File{Path: path, Src: src, Framework: opts.Framework}
	max := int64(MaxFileSize)
	if opts.MaxFileSize > 0 {
		max = opts.MaxFileSize
	}
	switch {
	case int64(len(src)) > max:
		f.SkippedReason = fmt.Sprintf("file is %d bytes, over the %d-byte limit", len(src), max)
		return f
	case bytes.IndexByte(src, 0) >= 0:
		f.SkippedReason = "binary file (contains NUL bytes)"
		return f
	case !utf8.Valid(src):
		f.SkippedReason = "not valid UTF-8"
		return f
	}
	f.Analysed = true
	if f.Framework == FrameworkAuto {
		f.Framework = detect(path, src)
	}
	regions := layout(f, opts)
	sp := &splitter{src: string(src)}
	txBlock := 0
	for _, r := range regions {
		var spans []span
		if r.noSplit {
			spans = sp.split(r.start, r.end)
			if len(spans) > 1 {
				spans = []span{{start: spans[0].start, end: spans[len(spans)-1].end, term: spans[len(spans)-1].term, leading: spans[0].leading}}
			}
		} else {
			spans = sp.split(r.start, r.end)
		}
		if r.tx {
			txBlock++
		}
		for _, s := range spans {
			st := f.newStatement(s, r.part, opts)
			if r.tx {
				st.InTransaction, st.TxBlock = true, txBlock
			}
			f.Statements = append(f.Statements, st)
		}
	}
	f.Comments = sp.comments
	for i := range f.Comments {
		f.Comments[i].Line = f.Position(f.Comments[i].Offset).Line
	}
	for _, st := range f.Statements {
		for i := range st.Leading {
			st.Leading[i].Line = f.Position(st.Leading[i].Offset).Line
		}
	}
	explicitTransactions(f, &txBlock)
	return f
}

func (f *File) newStatement(s span, part Part, opts Options) *Statement {
	text := string(f.Src[s.start:s.end])
	st := &Statement{
		Index:       len(f.Statements),
		Part:        part,
		Text:        text,
		StartOffset: s.start,
		EndOffset:   s.end,
		Start:       f.Position(s.start),
		Leading:     s.leading,
	}
	endOff := s.end - 1
	if s.term {
		// the semicolon follows the statement, perhaps after comments or spaces
		if j := bytes.IndexByte(f.Src[s.end:], ';'); j >= 0 {
			endOff = s.end + j
		}
	}
	st.End = f.Position(endOff)
	sql, m, unresolved := substitute(text, f.Framework, opts)
	st.SQL, st.Unresolved = sql, unresolved
	node, extra, msg, off := parseOne(sql)
	switch {
	case msg != "":
		pos := st.Start
		if off >= 0 {
			pos = f.Position(s.start + m.orig(off))
		}
		st.Err = &SyntaxError{Path: f.Path, Pos: pos, Msg: msg}
	case len(extra) > 0:
		// The splitter and the parser disagree on where statements end;
		// trust the parser's tree for the first and say so.
		st.Node = node
	default:
		st.Node = node
	}
	return st
}

// explicitTransactions marks statements between an explicit BEGIN (or
// START TRANSACTION) and COMMIT/ROLLBACK/END as running in a transaction.
// Inside a tool's own transaction, an explicit BEGIN only warns ("there is
// already a transaction in progress") but its COMMIT ends the tool's
// transaction early: later statements then autocommit.
func explicitTransactions(f *File, txBlock *int) {
	inExplicit := false
	committedTool := map[int]bool{}
	block := 0
	for _, st := range f.Statements {
		if st.Part != PartUp {
			continue
		}
		toolBlock := st.TxBlock
		if committedTool[toolBlock] {
			st.InTransaction, st.TxBlock = false, 0
			toolBlock = 0
		}
		if inExplicit {
			st.InTransaction, st.TxBlock = true, block
		}
		ts, ok := st.Node.GetNode().(*pg_query.Node_TransactionStmt)
		if !ok {
			continue
		}
		switch ts.TransactionStmt.Kind {
		case pg_query.TransactionStmtKind_TRANS_STMT_BEGIN, pg_query.TransactionStmtKind_TRANS_STMT_START:
			if inExplicit {
				continue
			}
			if toolBlock != 0 {
				inExplicit, block = true, toolBlock
				continue
			}
			*txBlock++
			inExplicit, block = true, *txBlock
			st.InTransaction, st.TxBlock = true, block
		case pg_query.TransactionStmtKind_TRANS_STMT_COMMIT, pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK:
			if toolBlock != 0 {
				committedTool[toolBlock] = true
			}
			inExplicit = false
		}
	}
}
