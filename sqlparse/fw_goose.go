package sqlparse

import (
	"bytes"
	"regexp"
	"strings"
)

// gooseTool: goose. <version>_<name>.sql with "-- +goose Up" / "-- +goose
// Down" annotations, version an int64 (github.com/pressly/goose
// internal/sqlparser/parser.go; migrate.go NumericComponent). The names
// are plain numeric ones: the annotations identify goose files.
type gooseTool struct{}

var gooseAnnotation = regexp.MustCompile(`(?m)^--\s*\+goose\s+(?i:up|down|statementbegin|no\s+transaction)\b`)

func (gooseTool) id() Framework { return FrameworkGoose }
func (gooseTool) fromContent(src []byte) bool {
	return bytes.Contains(src, []byte("+goose")) && gooseAnnotation.Match(src)
}
func (gooseTool) nameIsAmbiguous() {}
func (gooseTool) noTxAdvice() string {
	return "Put it in its own migration file that starts with `-- +goose NO TRANSACTION`."
}

func (gooseTool) fromName(_, name string) (nameInfo, bool) {
	m := matchLeadingDigits(name)
	if m == nil {
		return nameInfo{}, false
	}
	return nameInfo{version: m[1], parts: []string{m[1]}, part: PartUp}, true
}

var (
	gooseLine = regexp.MustCompile(`^--\s*\+goose\s+(.*?)\s*$`)
)

// layoutGoose: goose runs the statements of a direction one by one inside
// ONE transaction (database/sql Tx, migration_sql.go runSQLMigration),
// unless the file has "-- +goose NO TRANSACTION", which applies to both
// directions; then each statement runs on its own. goose splits
// statements at lines that end with a semicolon; "-- +goose
// StatementBegin" … "StatementEnd" makes one statement of the lines between
// (internal/sqlparser/parser.go). Such a block is sent with one Exec, so
// under NO TRANSACTION a block with several statements runs as one
// implicit transaction. We split the blocks into their statements with
// the lexer (so rules see each one) but keep them in one group.
func (gooseTool) layout(f *File, _ Options, _ hint) *fileLayout {
	lay := &fileLayout{groups: map[int]group{}}
	noTx := false
	eachLine(f.text, func(s, e int) {
		if !isCommentLine(f.text[s:e]) {
			return
		}
		if m := gooseLine.FindSubmatch(f.text[s:e]); m != nil && strings.EqualFold(strings.Join(strings.Fields(string(m[1])), " "), "NO TRANSACTION") {
			noTx = true
		}
	})
	if noTx {
		f.TxMode, f.TxReason = TxModeNone, "-- +goose NO TRANSACTION: goose runs each statement on its own"
	} else {
		f.TxMode, f.TxReason = TxModeFile, "goose runs the migration's statements in one transaction (no -- +goose NO TRANSACTION annotation)"
	}
	part := PartUp
	cur := 0 // start of the open region
	inBlock := false
	blocks := 0
	groupFor := func(block bool) int {
		if !noTx {
			if part == PartUp {
				return 1
			}
			return 2
		}
		if block {
			blocks++
			return 10 + blocks
		}
		return 0
	}
	closeRegion := func(end int, block bool) {
		if end > cur {
			g := groupFor(block)
			lay.regions = append(lay.regions, region{part: part, start: cur, end: end, group: g})
			switch {
			case !noTx:
				lay.groups[g] = group{mode: TxModeFile}
			case block:
				lay.groups[g] = group{mode: TxModeImplicit, reopen: true}
			default:
				lay.groups[g] = group{mode: TxModeNone}
			}
		}
	}
	eachLine(f.text, func(s, e int) {
		if !isCommentLine(f.text[s:e]) {
			return
		}
		m := gooseLine.FindSubmatch(f.text[s:e])
		if m == nil {
			return
		}
		next := e
		if next < len(f.text) {
			next++
		}
		switch strings.ToLower(strings.Join(strings.Fields(string(m[1])), " ")) {
		case "up":
			closeRegion(s, inBlock)
			part, inBlock, cur = PartUp, false, next
		case "down":
			closeRegion(s, inBlock)
			part, inBlock, cur = PartDown, false, next
		case "statementbegin":
			closeRegion(s, inBlock)
			inBlock, cur = true, next
		case "statementend":
			closeRegion(s, inBlock)
			inBlock, cur = false, next
		}
	})
	closeRegion(len(f.text), inBlock)
	return lay
}
