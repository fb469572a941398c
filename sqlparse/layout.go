package sqlparse

import (
	"bytes"
	"regexp"
	"strings"
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
	switch f.Framework {
	case FrameworkFlyway:
		return layoutFlyway(f, h)
	case FrameworkGolangMigrate:
		return layoutGolangMigrate(f, opts, h)
	case FrameworkGoose:
		return layoutGoose(f)
	case FrameworkDbmate:
		return layoutDbmate(f)
	case FrameworkSqitch:
		return layoutSqitch(f, h)
	case FrameworkLiquibase:
		return layoutLiquibase(f)
	}
	return layoutPlain(f, opts, h)
}

func whole(f *File, part Part, g group) *fileLayout {
	return &fileLayout{
		regions: []region{{part: part, start: 0, end: len(f.text), group: 1}},
		groups:  map[int]group{1: g},
	}
}

// layoutPlain: a plain SQL file run by psql or a similar runner. psql runs
// every statement on its own (autocommit) unless it is started with
// --single-transaction, which wraps the whole file in BEGIN/COMMIT
// (https://www.postgresql.org/docs/current/app-psql.html); an explicit
// COMMIT inside then ends that transaction and later statements
// autocommit. AssumeInTransaction says the runner wraps the file.
func layoutPlain(f *File, opts Options, h hint) *fileLayout {
	if opts.AssumeInTransaction {
		f.TxMode, f.TxReason = TxModeFile, "assumed to run in one transaction (assume_in_transaction, like psql --single-transaction)"
		return whole(f, h.part, group{mode: TxModeFile})
	}
	f.TxMode, f.TxReason = TxModeNone, "plain SQL: each statement autocommits (as psql runs a file) unless the file opens a transaction; set assume_in_transaction when the runner wraps files"
	return whole(f, h.part, group{mode: TxModeNone})
}

// layoutFlyway: Flyway runs each migration in one transaction by default
// (executeInTransaction=true, https://documentation.red-gate.com/fd/flyway-execute-in-transaction-setting-277578997.html);
// a script configuration file next to the script (V2__x.sql.conf) can set
// executeInTransaction=false. Flyway sends statements one by one over JDBC,
// so there is no multi-statement implicit transaction. ${name}
// placeholders are substituted before parsing (substitute). U (undo)
// migrations are down parts.
func layoutFlyway(f *File, h hint) *fileLayout {
	lay := whole(f, h.part, group{mode: TxModeFile, reopen: true})
	f.TxMode, f.TxReason = TxModeFile, "Flyway runs each migration in one transaction (executeInTransaction defaults to true)"
	if v, ok := h.flywayConf["executeInTransaction"]; ok && strings.EqualFold(strings.TrimSpace(v), "false") {
		lay.groups[1] = group{mode: TxModeNone}
		f.TxMode, f.TxReason = TxModeNone, "executeInTransaction=false in "+baseName(f.Path)+".conf: Flyway runs each statement on its own"
		return lay
	}
	lay.finish = flywayNonTransactional
	return lay
}

// flywayNonTransactional mirrors Flyway's PostgreSQL parser: a migration
// holding a statement that PostgreSQL cannot run in a transaction block
// (CREATE/DROP INDEX CONCURRENTLY, VACUUM, REINDEX SCHEMA/DATABASE/SYSTEM,
// CREATE/DROP DATABASE/TABLESPACE/SUBSCRIPTION, ALTER SYSTEM, DISCARD ALL)
// is run without a transaction (flyway-database-postgresql
// PostgreSQLParser.detectCanExecuteInTransaction). When the migration
// mixes such statements with transactional ones, Flyway refuses to run it
// ("Detected both transactional and non-transactional statements within
// the same migration") unless mixed=true, and then runs the whole
// migration without a transaction. Flyway also treats ALTER TYPE … ADD
// VALUE as non-transactional on PostgreSQL before 12; we do not know the
// server version here and leave it transactional.
func flywayNonTransactional(f *File, lay *fileLayout) {
	var what string
	mixed := false
	for _, st := range f.Statements {
		if st.Part != PartUp || st.Node == nil {
			continue
		}
		if w := flywayNonTx(st.Node); w != "" {
			if what == "" {
				what = w
			}
		} else {
			mixed = true
		}
	}
	if what == "" {
		return
	}
	lay.groups[1] = group{mode: TxModeNone}
	f.TxMode = TxModeNone
	f.TxReason = "Flyway runs this migration without a transaction because it contains " + what + ", which PostgreSQL cannot run in one"
	if mixed {
		f.TxReason += "; Flyway refuses a migration that mixes it with transactional statements unless mixed=true"
	}
}

// layoutGolangMigrate: golang-migrate's postgres driver reads the whole
// file and sends it with ONE Exec call (database/postgres/postgres.go: Run
// → runStatement → conn.ExecContext(ctx, query), no arguments, so lib/pq
// uses the simple query protocol). PostgreSQL runs a query string holding
// several statements as one implicit transaction
// (https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-MULTI-STATEMENT),
// so CREATE INDEX CONCURRENTLY fails ("cannot run inside a transaction
// block") unless it is the only statement of its file, or the database URL
// sets x-multi-statement=true, which splits the file on semicolons
// (database/multistmt) and runs each statement on its own.
func layoutGolangMigrate(f *File, opts Options, h hint) *fileLayout {
	if opts.MultiStatement {
		f.TxMode, f.TxReason = TxModeNone, "golang-migrate with x-multi-statement=true runs each statement on its own"
		return whole(f, h.part, group{mode: TxModeNone})
	}
	f.TxMode, f.TxReason = TxModeImplicit, "golang-migrate sends the whole file as one query string, which PostgreSQL runs as one implicit transaction when it holds more than one statement"
	return whole(f, h.part, group{mode: TxModeImplicit, reopen: true})
}

// layoutSqitch: sqitch runs each script with psql --file, ON_ERROR_STOP=1
// and no --single-transaction (lib/App/Sqitch/Engine/pg.pm: run_file,
// _client_opts). The only transaction is the one the script opens itself;
// sqitch's default deploy and revert templates wrap the change in
// BEGIN; … COMMIT;. Revert scripts are down parts; verify scripts are not
// migrations (Load skips them).
func layoutSqitch(f *File, h hint) *fileLayout {
	f.TxMode, f.TxReason = TxModeNone, "sqitch runs the script with psql without --single-transaction: only the script's own BEGIN/COMMIT makes a transaction"
	return whole(f, h.part, group{mode: TxModeNone})
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
func layoutGoose(f *File) *fileLayout {
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

var dbmateLine = regexp.MustCompile(`^--\s*migrate:(up|down)(.*)$`)

// layoutDbmate: dbmate runs each "-- migrate:up" block as ONE query
// string (tx.Exec(up), pkg/dbmate/db.go Migrate) inside a transaction
// (doTransaction), unless the directive says "transaction:false"
// (migration.go parseMigrationOptions); then the block is sent outside a
// transaction, and PostgreSQL still runs a string of several statements
// as one implicit transaction, so CREATE INDEX CONCURRENTLY must be the
// only statement of its block. Down blocks have their own options.
func layoutDbmate(f *File) *fileLayout {
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
func layoutLiquibase(f *File) *fileLayout {
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
