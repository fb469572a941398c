package sqlparse

import (
	"bytes"
	"regexp"
	"strings"
)

// liquibaseTool: Liquibase formatted SQL: the first line is "--liquibase
// formatted sql" (https://docs.liquibase.com/concepts/changelogs/sql-format.html).
type liquibaseTool struct{}

var liquibaseHeader = regexp.MustCompile(`(?i)^--\s*liquibase\s+formatted\s+sql\b`)

func (liquibaseTool) id() Framework                            { return FrameworkLiquibase }
func (liquibaseTool) fromName(string, string) (nameInfo, bool) { return nameInfo{}, false }
func (liquibaseTool) fromContent(src []byte) bool              { return liquibaseHeader.Match(firstLine(src)) }
func (liquibaseTool) noTxAdvice() string {
	return "Put it in its own changeset with `runInTransaction:false`."
}

var (
	liquibaseChangeset = regexp.MustCompile(`(?i)^\s*--\s*changeset\s+\S+(.*)$`)
	liquibaseRollback  = regexp.MustCompile(`(?i)^(\s*--\s*rollback\b\s?)(.*)$`)
	liquibaseRbOpen    = regexp.MustCompile(`(?i)^\s*/\*\s*liquibase\s+rollback\b`)
)

// layoutLiquibase: Liquibase formatted SQL
// (https://docs.liquibase.com/concepts/changelogs/sql-format.html). Each
// "--changeset author:id" starts a changeset; Liquibase runs each
// changeset in its own transaction and commits it (runInTransaction
// defaults to true; runInTransaction:false runs the statements in
// autocommit). With splitStatements (the default) it splits the changeset
// on semicolons and executes the statements one by one over JDBC; with
// splitStatements:false it sends the changeset as one string, which the
// PostgreSQL JDBC driver sends as several statements before one Sync, so
// without a transaction they still share an implicit one. "--rollback
// SQL" lines and "/* liquibase rollback … */" blocks hold the rollback:
// down parts. Text before the first changeset is not run by Liquibase; we
// still parse it, as up, without a transaction.
func (liquibaseTool) layout(f *File, _ Options, _ hint) *fileLayout {
	lay := &fileLayout{groups: map[int]group{0: {mode: TxModeNone}}}
	work := []byte(nil)
	mask := func(from, to int) {
		if work == nil {
			work = append([]byte(nil), f.text...)
		}
		for i := from; i < to; i++ {
			if work[i] != '\n' && work[i] != '\r' {
				work[i] = ' '
			}
		}
	}
	type lineKind struct {
		part  Part
		group int
	}
	var (
		cur       = -1 // index of the region that the next line may extend
		g         = 0
		downGroup = -1
		inRbBlock = false
		anyTx     bool
		anyNoTx   bool
	)
	add := func(k lineKind, s, e int) {
		if cur >= 0 && lay.regions[cur].part == k.part && lay.regions[cur].group == k.group {
			lay.regions[cur].end = e
			return
		}
		lay.regions = append(lay.regions, region{part: k.part, start: s, end: e, group: k.group})
		cur = len(lay.regions) - 1
	}
	eachLine(f.text, func(s, e int) {
		line := f.text[s:e]
		next := e
		if next < len(f.text) {
			next++
		}
		if inRbBlock {
			if i := bytes.Index(line, []byte("*/")); i >= 0 {
				mask(s+i, s+i+2)
				add(lineKind{PartDown, downGroup}, s, s+i)
				inRbBlock = false
				cur = -1
				return
			}
			add(lineKind{PartDown, downGroup}, s, next)
			return
		}
		comment := isCommentLine(line)
		if !comment && !bytes.Contains(line, []byte("/*")) {
			add(lineKind{PartUp, g}, s, next)
			return
		}
		if m := liquibaseChangeset.FindSubmatch(line); comment && m != nil {
			g++
			downGroup = -g
			tx, split := true, true
			for _, opt := range strings.Fields(string(m[1])) {
				k, v, ok := strings.Cut(opt, ":")
				if !ok {
					continue
				}
				switch {
				case strings.EqualFold(k, "runInTransaction"):
					tx = !strings.EqualFold(v, "false")
				case strings.EqualFold(k, "splitStatements"):
					split = !strings.EqualFold(v, "false")
				}
			}
			switch {
			case tx:
				lay.groups[g] = group{mode: TxModeChangeset, reopen: true}
				anyTx = true
			case !split:
				lay.groups[g] = group{mode: TxModeImplicit, reopen: true}
				anyNoTx = true
			default:
				lay.groups[g] = group{mode: TxModeNone}
				anyNoTx = true
			}
			lay.groups[downGroup] = lay.groups[g]
			add(lineKind{PartUp, g}, s, next)
			return
		}
		if m := liquibaseRollback.FindSubmatchIndex(line); m != nil && g > 0 {
			body := strings.ToLower(strings.TrimSpace(string(line[m[4]:m[5]])))
			if body == "not required" || body == "empty" || body == "" {
				add(lineKind{PartUp, g}, s, next)
				return
			}
			mask(s, s+m[3])
			add(lineKind{PartDown, downGroup}, s+m[3], next)
			return
		}
		if loc := liquibaseRbOpen.FindIndex(line); loc != nil && g > 0 {
			mask(s, s+loc[1])
			rest := line[loc[1]:]
			if i := bytes.Index(rest, []byte("*/")); i >= 0 {
				mask(s+loc[1]+i, s+loc[1]+i+2)
				add(lineKind{PartDown, downGroup}, s+loc[1], s+loc[1]+i)
				cur = -1
				return
			}
			inRbBlock = true
			add(lineKind{PartDown, downGroup}, s+loc[1], next)
			return
		}
		add(lineKind{PartUp, g}, s, next)
	})
	lay.work = work
	switch {
	case anyTx && anyNoTx:
		f.TxMode, f.TxReason = TxModeChangeset, "Liquibase runs each changeset in its own transaction, except those with runInTransaction:false"
	case anyNoTx:
		f.TxMode, f.TxReason = TxModeNone, "runInTransaction:false: Liquibase runs the changeset's statements without a transaction"
	default:
		f.TxMode, f.TxReason = TxModeChangeset, "Liquibase runs each changeset in its own transaction (runInTransaction defaults to true)"
	}
	return lay
}
