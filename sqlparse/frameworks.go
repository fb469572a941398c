package sqlparse

import (
	"bytes"
	"path"
	"path/filepath"
	"strings"
)

// tool is one migration framework: how it names its files, orders them,
// splits them into up and down parts and wraps them in transactions, and
// what a fix must tell the author to run a statement outside a
// transaction. Each tool is one file (fw_<name>.go) registered in tools;
// nothing else in the package or in the rules switches on a framework.
type tool interface {
	// id is the name used by --framework, in reports and in JSON.
	id() Framework
	// fromName recognises a migration by its name alone. dir is the name
	// of the directory holding the file (tools whose migrations are
	// directories, diesel and Prisma, name the migration there), name the
	// file's name. ok is false when the name is not the tool's.
	fromName(dir, name string) (n nameInfo, ok bool)
	// fromContent recognises a migration by markers in its text (goose
	// and dbmate annotations, Liquibase's header).
	fromContent(src []byte) bool
	// layout marks out the file's up and down parts and units of
	// execution, and sets the file's TxMode and TxReason.
	layout(f *File, opts Options, h hint) *fileLayout
	// noTxAdvice says how to run a statement outside a transaction with
	// this tool, as a fix sentence.
	noTxAdvice() string
}

// nameInfo is what a migration's name says under a tool's convention.
type nameInfo struct {
	version string
	part    Part
	// parts are version components compared as numbers; text, when set,
	// is compared as a string instead (dbmate, diesel, Prisma sort that
	// way).
	parts []string
	text  string
	class int // Flyway: 0 versioned, 1 repeatable (run after all versioned)
	// sortName replaces the name in the final tie-break (Flyway's
	// repeatable migrations are ordered by description).
	sortName string
}

// tools lists the frameworks in detection order: content markers first
// (goose and dbmate files carry plain numeric names), then the names that
// only one tool uses, then the plain-SQL fallback.
var tools = []tool{
	liquibaseTool{}, gooseTool{}, dbmateTool{}, sqlxTool{},
	dieselTool{}, prismaTool{}, golangMigrateTool{}, flywayTool{},
	sqitchTool{}, plainTool{},
}

// Frameworks lists the names accepted by --framework.
var Frameworks = func() []Framework {
	out := make([]Framework, 0, len(tools))
	for _, t := range tools {
		out = append(out, t.id())
	}
	return out
}()

// toolOf returns the tool of a framework; plain SQL for unknown names.
func toolOf(fw Framework) tool {
	for _, t := range tools {
		if t.id() == fw {
			return t
		}
	}
	return plainTool{}
}

// NoTxAdvice says, as one fix sentence, how to run a statement outside a
// transaction under this framework.
func (fw Framework) NoTxAdvice() string { return toolOf(fw).noTxAdvice() }

// Runner names the program that runs the migration, for messages: the
// framework's name, or "the migration runner" for plain SQL.
func (fw Framework) Runner() string {
	if fw == FrameworkAuto || fw == FrameworkSQL {
		return "the migration runner"
	}
	return string(fw)
}

func baseName(path string) string { return filepath.Base(filepath.FromSlash(path)) }

// splitName splits a name as the directory walk groups it ("dir/file" for
// tools whose migrations are directories, "file" otherwise).
func splitName(name string) (dir, file string) {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return "", name
}

// pathNames returns the names of a file's directory and of the file.
func pathNames(path string) (dir, file string) {
	p := filepath.FromSlash(path)
	return filepath.Base(filepath.Dir(p)), filepath.Base(p)
}

// byName returns the tool a name alone implies, and what the name says;
// nil when no tool claims it.
func byName(dir, name string) (tool, nameInfo) {
	for _, t := range tools {
		if _, amb := t.(ambiguousNames); amb {
			continue
		}
		if n, ok := t.fromName(dir, name); ok {
			return t, n
		}
	}
	return nil, nameInfo{}
}

// detect guesses the migration framework of a file from its name and
// content. Content markers win over names: goose and dbmate files carry
// plain numeric names. Plain SQL is the fallback.
func detect(dir, name string, src []byte) Framework {
	for _, t := range tools {
		if t.fromContent(src) {
			return t.id()
		}
	}
	if t, _ := byName(dir, name); t != nil {
		return t.id()
	}
	return FrameworkSQL
}

// firstLine returns the first non-blank line of src.
func firstLine(src []byte) []byte {
	for len(src) > 0 {
		line := src
		rest := []byte(nil)
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			line, rest = src[:i], src[i+1:]
		}
		if t := bytes.TrimSpace(line); len(t) > 0 {
			return t
		}
		src = rest
	}
	return nil
}

// orderKey sorts the files of one directory the way their tool runs them.
type orderKey struct {
	nameInfo
	text bool // compare nameInfo.text as strings
	down int  // 0 up, 1 down (a down part after its up)
	name string
}

func keyFor(fw Framework, name string) orderKey {
	dir, file := splitName(name)
	k := orderKey{name: name}
	if n, ok := toolOf(fw).fromName(dir, file); ok {
		k.nameInfo = n
		k.text = n.text != ""
		if n.part == PartDown {
			k.down = 1
		}
		if n.sortName != "" {
			k.name = n.sortName
		}
	}
	return k
}

// less orders two keys: by text when both tools sort names as strings,
// else by version parts compared as numbers, then a natural order of the
// names (digit runs compared as numbers).
func (a orderKey) less(b orderKey) bool {
	if a.class != b.class {
		return a.class < b.class
	}
	if a.text && b.text {
		if a.nameInfo.text != b.nameInfo.text {
			return a.nameInfo.text < b.nameInfo.text
		}
	} else {
		for i := 0; i < len(a.parts) && i < len(b.parts); i++ {
			if c := compareNumeric(a.parts[i], b.parts[i]); c != 0 {
				return c < 0
			}
		}
		if len(a.parts) != len(b.parts) {
			return len(a.parts) < len(b.parts)
		}
	}
	if a.down != b.down {
		return a.down < b.down
	}
	if c := NaturalCompare(a.name, b.name); c != 0 {
		return c < 0
	}
	return a.name < b.name
}

// compareNumeric compares two digit strings as numbers of any size.
func compareNumeric(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// NaturalCompare compares strings with digit runs compared as numbers, so
// that 2_x.sql sorts before 10_x.sql: the order golang-migrate, goose and
// Flyway give versions.
func NaturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := isDigit(a[0]), isDigit(b[0])
		if da && db {
			i, j := digitRun(a), digitRun(b)
			if c := compareNumeric(a[:i], b[:j]); c != 0 {
				return c
			}
			a, b = a[i:], b[j:]
			continue
		}
		if a[0] != b[0] {
			if a[0] < b[0] {
				return -1
			}
			return 1
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digitRun(s string) int {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// ambiguousNames marks tools whose file names other tools share (goose,
// dbmate and sqlx use <digits>_<name>.sql): a name alone never implies
// them; their content or project does.
type ambiguousNames interface{ nameIsAmbiguous() }

// noName is fromName for tools that no name identifies.
func noName(string, string) (nameInfo, bool) { return nameInfo{}, false }

// MigrationDir returns the directory whose listing orders a migration
// file among the others of its tool, as `reviewer check DIR` should be
// run to see the file in its history: the project of a sqitch script (the
// parent of its deploy/, revert/ or verify/ folder), the parent of a
// diesel or Prisma migration directory, else the file's own directory.
// Paths use forward slashes (repository paths); "." for the root.
func MigrationDir(p string) string {
	p = filepath.ToSlash(p)
	dir := path.Dir(p)
	for d := dir; d != "." && d != "/"; d = path.Dir(d) {
		switch path.Base(d) {
		case "deploy", "revert", "verify": // sqitch: deploy/x.sql, deploy/schema/x.sql
			return path.Dir(d)
		}
	}
	if t, _ := byName(path.Base(dir), path.Base(p)); t != nil {
		if _, ok := t.(dirMigrations); ok {
			return path.Dir(dir)
		}
	}
	return dir
}

// dirMigrations marks tools whose migrations are directories (diesel's
// <version>_<name>/up.sql, Prisma's <timestamp>_<name>/migration.sql).
type dirMigrations interface{ migrationIsDirectory() }

func (dieselTool) migrationIsDirectory() {}
func (prismaTool) migrationIsDirectory() {}
