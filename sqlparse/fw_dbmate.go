package sqlparse

import (
	"bytes"
	"regexp"
	"strings"
)

// dbmateTool: dbmate. <digits>…sql with "-- migrate:up" / "-- migrate:down";
// dbmate sorts by file name as a string (github.com/amacneil/dbmate
// pkg/dbmate/db.go FindMigrations, migrationFileRegexp ^(\d+).*\.sql$).
type dbmateTool struct{}

var dbmateDirective = regexp.MustCompile(`(?m)^--\s*migrate:(up|down)\b`)

func (dbmateTool) id() Framework { return FrameworkDbmate }
func (dbmateTool) fromContent(src []byte) bool {
	return bytes.Contains(src, []byte("migrate:")) && dbmateDirective.Match(src)
}
func (dbmateTool) nameIsAmbiguous() {}
func (dbmateTool) noTxAdvice() string {
	return "Put it in its own migration file whose up section is marked `-- migrate:up transaction:false`."
}

func (dbmateTool) fromName(_, name string) (nameInfo, bool) {
	m := matchLeadingDigits(name)
	if m == nil {
		return nameInfo{}, false
	}
	return nameInfo{version: m[1], text: name, part: PartUp}, true
}

var dbmateLine = regexp.MustCompile(`^--\s*migrate:(up|down)(.*)$`)

// layoutDbmate: dbmate runs each "-- migrate:up" block as ONE query
// string (tx.Exec(up), pkg/dbmate/db.go Migrate) inside a transaction
// (doTransaction), unless the directive says "transaction:false"
// (migration.go parseMigrationOptions); then the block is sent outside a
// transaction, and PostgreSQL still runs a string of several statements
// as one implicit transaction, so CREATE INDEX CONCURRENTLY must be the
// only statement of its block. Down blocks have their own options.
func (dbmateTool) layout(f *File, _ Options, _ hint) *fileLayout {
	lay := &fileLayout{groups: map[int]group{0: {mode: TxModeNone}}}
	part, g, cur := PartUp, 0, 0
	upTx, upNoTx := false, false
	closeRegion := func(end int) {
		if end > cur {
			lay.regions = append(lay.regions, region{part: part, start: cur, end: end, group: g})
		}
	}
	eachLine(f.text, func(s, e int) {
		if !isCommentLine(f.text[s:e]) {
			return
		}
		m := dbmateLine.FindSubmatch(f.text[s:e])
		if m == nil {
			return
		}
		closeRegion(s)
		part = PartUp
		if string(m[1]) == "down" {
			part = PartDown
		}
		tx := true
		for _, opt := range strings.Fields(string(m[2])) {
			if k, v, ok := strings.Cut(opt, ":"); ok && k == "transaction" && v == "false" {
				tx = false
			}
		}
		g = len(lay.groups) + 1
		if tx {
			lay.groups[g] = group{mode: TxModeFile, reopen: true}
		} else {
			lay.groups[g] = group{mode: TxModeImplicit, reopen: true}
		}
		if part == PartUp {
			upTx, upNoTx = upTx || tx, upNoTx || !tx
		}
		cur = s
	})
	closeRegion(len(f.text))
	switch {
	case upNoTx && !upTx:
		f.TxMode, f.TxReason = TxModeImplicit, "-- migrate:up transaction:false: dbmate sends the block as one query string outside a transaction, which PostgreSQL still runs as one implicit transaction when it holds more than one statement"
	default:
		f.TxMode, f.TxReason = TxModeFile, "dbmate runs the migrate:up block in one transaction (no transaction:false option)"
	}
	return lay
}
