package sqlparse

import (
	"bytes"
	"fmt"
	"io/fs"
	"sort"
	"unicode/utf8"
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
	FrameworkDiesel        Framework = "diesel"
	FrameworkPrisma        Framework = "prisma"
	FrameworkSqlx          Framework = "sqlx"
)

// ParseFramework checks a framework name as given on the command line or in
// the config; "" and "auto" mean detection.
func ParseFramework(s string) (Framework, error) {
	if s == "" || s == "auto" {
		return FrameworkAuto, nil
	}
	for _, f := range Frameworks {
		if string(f) == s {
			return f, nil
		}
	}
	return FrameworkAuto, fmt.Errorf("unknown framework %q (want auto or one of %v)", s, Frameworks)
}

// Part says whether a statement belongs to the forward (up) or the
// rollback (down) migration. Only up parts are reviewed; down parts are
// checked for syntax.
type Part string

// The parts of a migration.
const (
	PartUp   Part = "up"
	PartDown Part = "down"
)

// The values of File.TxMode: how the migration tool wraps the up part.
const (
	// TxModeFile: the tool runs the whole up part in one transaction.
	TxModeFile = "file"
	// TxModeChangeset: one transaction per changeset (Liquibase).
	TxModeChangeset = "changeset"
	// TxModeImplicit: the tool sends the up part to the server as one
	// multi-statement query string, which PostgreSQL runs as one implicit
	// transaction when it holds more than one statement
	// (https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-MULTI-STATEMENT).
	TxModeImplicit = "implicit"
	// TxModeNone: every statement autocommits unless the file opens a
	// transaction itself.
	TxModeNone = "none"
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
	// terminating semicolon (for Liquibase --rollback lines, without the
	// comment markers). SQL is Text after placeholder substitution: what
	// was parsed.
	Text, SQL string
	// Start and End delimit the statement in the file; End is inclusive
	// (the terminating semicolon when there is one).
	Start, End Pos
	// StartOffset and EndOffset are byte offsets of Text in the file.
	StartOffset, EndOffset int
	// Node is the parsed statement; nil when Err is set. Location fields
	// inside it are offsets into whatever text was parsed; convert them
	// with File.NodePos, never use them directly.
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
	// group is the layout's unit of execution the statement belongs to.
	group int
	// subst maps offsets in SQL back to Text; locBase is the offset that
	// node locations are relative to: -1 when the statement was parsed on
	// its own (locations are offsets in SQL), 0 when the whole file was
	// parsed at once (locations are file offsets).
	subst   offsetMap
	locBase int
}

// File is a migration file, read and parsed.
type File struct {
	Path      string
	Framework Framework
	// Version orders migrations (e.g. "2" of V2__x.sql, a timestamp for
	// goose or dbmate, the plan position for sqitch). Empty for plain SQL.
	Version string
	// InTransaction is true when the tool runs the file's up part inside a
	// transaction (the whole file, each changeset, or the implicit
	// transaction of a multi-statement query).
	InTransaction bool
	// TxMode is one of the TxMode constants: "file", "changeset",
	// "implicit" or "none".
	TxMode string
	// TxReason explains TxMode in one sentence, naming the tool's
	// behaviour and the annotation that changed it.
	TxReason string
	// Statements holds every statement in file order, up and down parts.
	Statements []*Statement
	// Comments holds every comment of the file, in order.
	Comments []Comment
	// Analysed is false when the file was skipped; SkippedReason says why.
	Analysed      bool
	SkippedReason string
	// Src is the file's content.
	Src []byte

	// text is Src as the layouts and the splitter see it: a leading UTF-8
	// byte order mark is blanked (three spaces, so offsets do not move).
	text []byte

	lines []int // byte offset of the start of each line
	ascii bool  // Src has no multi-byte characters: columns are byte based
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

func (f *File) lineTable() {
	if f.lines != nil {
		return
	}
	n := bytes.Count(f.Src, []byte{'\n'})
	f.lines = make([]int, 1, n+1)
	ascii := true
	for i, b := range f.Src {
		switch {
		case b == '\n':
			f.lines = append(f.lines, i+1)
		case b >= utf8.RuneSelf:
			ascii = false
		}
	}
	f.ascii = ascii
}

// Position converts a byte offset in the file to a 1-based line and column.
// Columns count characters, not bytes.
func (f *File) Position(off int) Pos {
	f.lineTable()
	if off < 0 {
		off = 0
	}
	if off > len(f.Src) {
		off = len(f.Src)
	}
	line := sort.Search(len(f.lines), func(i int) bool { return f.lines[i] > off }) - 1
	if f.ascii {
		return Pos{Line: line + 1, Col: off - f.lines[line] + 1}
	}
	for off > f.lines[line] && off < len(f.Src) && !utf8.RuneStart(f.Src[off]) {
		off-- // inside a multi-byte character: count that character
	}
	col := utf8.RuneCount(f.Src[f.lines[line]:off]) + 1
	return Pos{Line: line + 1, Col: col}
}

// NodePos converts a location found inside st.Node (a Location field, a
// byte offset into the parsed text) to a position in the original file.
// Locations of -1 (unknown) give the statement's start.
func (f *File) NodePos(st *Statement, loc int32) Pos {
	if loc < 0 {
		return st.Start
	}
	if st.locBase >= 0 {
		return f.Position(st.locBase + int(loc))
	}
	return f.Position(st.StartOffset + st.subst.orig(int(loc)))
}

// SQLOffset converts a location found inside st.Node to a byte offset in
// st.SQL, the text that was parsed; -1 when the location is unknown or
// outside the statement.
func (s *Statement) SQLOffset(loc int32) int {
	if loc < 0 {
		return -1
	}
	off := int(loc)
	if s.locBase >= 0 {
		off = s.locBase + off - s.StartOffset // a whole-file parse: SQL is the file's text from StartOffset
	}
	if off < 0 || off >= len(s.SQL) {
		return -1
	}
	return off
}

// Options control how files are found and read.
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
	// MultiStatement says golang-migrate runs with x-multi-statement=true:
	// it then splits files on semicolons and runs each statement on its
	// own, outside any transaction.
	MultiStatement bool
	// FS, when set, is the file system Load and Each read paths from
	// (fs.FS paths: slash-separated, unrooted); nil is the operating
	// system's. A review of a merge request reads the repository's files
	// at its head commit this way, under their repository paths.
	FS fs.FS
}

// hint is what Load knows about a file beyond its name and content: its
// framework from the directory, the part (golang-migrate .down.sql,
// Flyway U, sqitch revert), the version, and Flyway's per-script config.
type hint struct {
	framework Framework
	part      Part
	version   string
	// conf holds the keys of the migration's own configuration file
	// (Flyway's V1__x.sql.conf, diesel's metadata.toml); nil when there
	// is none.
	conf map[string]string
	// skip, when set, is the reason not to analyse the file at all.
	skip string
}

// ParseFile splits and parses one migration file. It never fails: problems
// become syntax errors on statements, or a skipped file with a reason.
// The framework is detected from the path and content unless
// opts.Framework names it. Use it for content read from stdin, with the
// file name the content would have.
func ParseFile(path string, src []byte, opts Options) *File {
	return parseFile(path, src, opts, hint{})
}

func parseFile(path string, src []byte, opts Options, h hint) *File {
	f := &File{Path: path, Src: src, Framework: opts.Framework, TxMode: TxModeNone}
	if h.framework != FrameworkAuto {
		f.Framework = h.framework
	}
	f.Version = h.version
	if h.skip != "" {
		f.SkippedReason = h.skip
		return f
	}
	if reason := skipReason(src, opts); reason != "" {
		f.SkippedReason = reason
		return f
	}
	f.Analysed = true
	f.text = src
	if bytes.HasPrefix(src, utf8BOM) {
		f.text = append([]byte("   "), src[len(utf8BOM):]...)
	}
	dir, name := pathNames(path)
	if f.Framework == FrameworkAuto {
		f.Framework = detect(dir, name, f.text)
	}
	n, named := toolOf(f.Framework).fromName(dir, name)
	if h.part == "" {
		h.part = PartUp
		if named {
			h.part = n.part
		}
	}
	if h.version == "" && named {
		h.version = n.version
	}
	f.Version = h.version

	lay := layout(f, opts, h)
	work := string(f.text)
	if lay.work != nil {
		work = string(lay.work)
	}
	sp := &splitter{src: work}
	for _, r := range lay.regions {
		for _, s := range sp.split(r.start, r.end) {
			st := f.newStatement(work, s, r.part, opts)
			st.group = r.group
			f.Statements = append(f.Statements, st)
		}
	}
	f.Comments = sp.comments
	parseStatements(f, work)
	for i := range f.Comments {
		f.Comments[i].Line = f.Position(f.Comments[i].Offset).Line
	}
	for _, st := range f.Statements {
		for i := range st.Leading {
			st.Leading[i].Line = f.Position(st.Leading[i].Offset).Line
		}
	}
	if lay.finish != nil {
		lay.finish(f, lay)
	}
	assignTransactions(f, lay)
	return f
}

var utf8BOM = []byte("\uFEFF")

// skipReason says why a file's content cannot be analysed, or "".
func skipReason(src []byte, opts Options) string {
	max := int64(MaxFileSize)
	if opts.MaxFileSize > 0 {
		max = opts.MaxFileSize
	}
	switch {
	case int64(len(src)) > max:
		return fmt.Sprintf("file is %d bytes, over the %d-byte limit", len(src), max)
	case bytes.IndexByte(src, 0) >= 0:
		return "binary file (contains NUL bytes)"
	case !utf8.Valid(src):
		return "not valid UTF-8"
	}
	return ""
}

func (f *File) newStatement(work string, s span, part Part, opts Options) *Statement {
	text := work[s.start:s.end]
	st := &Statement{
		Index:       len(f.Statements),
		Part:        part,
		Text:        text,
		StartOffset: s.start,
		EndOffset:   s.end,
		Start:       f.Position(s.start),
		Leading:     s.leading,
		locBase:     -1,
	}
	_, last := utf8.DecodeLastRuneInString(text)
	endOff := s.end - last // the first byte of the last character
	if s.term {
		// the semicolon follows the statement, perhaps after comments or spaces
		endOff = s.semi
	}
	st.End = f.Position(endOff)
	st.SQL, st.subst, st.Unresolved = substitute(text, f.Framework, opts)
	return st
}

// parseStatements parses every statement. The fast path parses the whole
// text with one call to the parser and maps its statements onto the
// splitter's by offset; it applies when no placeholder changed any
// statement's text and the parser finds exactly the splitter's
// statements. Otherwise, and for files with a syntax error, each
// statement is parsed on its own, so one bad statement does not hide the
// others and every error points at its own statement.
func parseStatements(f *File, work string) {
	if len(f.Statements) == 0 {
		return
	}
	if parseWhole(f, work) {
		return
	}
	for _, st := range f.Statements {
		parseAlone(f, st)
	}
}

func parseWhole(f *File, work string) bool {
	for _, st := range f.Statements {
		if st.SQL != st.Text {
			return false
		}
	}
	stmts, ok := parseAll(work)
	if !ok || len(stmts) != len(f.Statements) {
		return false
	}
	for i, st := range f.Statements {
		r := stmts[i]
		end := len(work)
		if r.len > 0 {
			end = r.loc + r.len
		}
		if r.loc > st.StartOffset || st.EndOffset > end || r.node == nil {
			return false
		}
		// the parser's statement must not reach into the next one
		if i+1 < len(f.Statements) && end > f.Statements[i+1].StartOffset {
			return false
		}
	}
	for i, st := range f.Statements {
		st.Node, st.locBase = stmts[i].node, 0
	}
	return true
}

func parseAlone(f *File, st *Statement) {
	node, msg, off := parseOne(st.SQL)
	if msg != "" {
		pos := st.Start
		if off >= 0 {
			pos = f.Position(st.StartOffset + st.subst.orig(off))
		}
		st.Err = &SyntaxError{Path: f.Path, Pos: pos, Msg: msg}
		return
	}
	st.Node, st.locBase = node, -1
}
