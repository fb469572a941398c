package sqlparse

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
)

// File names and content markers of each framework. The sources:
//
//   - Flyway: V<version>__<desc>.sql, U<version>__<desc>.sql (undo),
//     R__<desc>.sql (repeatable); the version's parts are separated by dots
//     or underscores and compared as numbers; repeatable migrations run
//     after all versioned ones, ordered by description
//     (https://documentation.red-gate.com/fd/migrations-184127470.html).
//   - golang-migrate: <version>_<title>.up.sql and .down.sql, version an
//     unsigned integer (github.com/golang-migrate/migrate source/parse.go).
//   - goose: <version>_<name>.sql with "-- +goose Up" / "-- +goose Down"
//     annotations, version an int64 (github.com/pressly/goose
//     internal/sqlparser/parser.go; migrate.go NumericComponent).
//   - dbmate: <digits>…sql with "-- migrate:up" / "-- migrate:down"; dbmate
//     sorts by file name as a string (github.com/amacneil/dbmate
//     pkg/dbmate/db.go FindMigrations, migrationFileRegexp ^(\d+).*\.sql$).
//   - Liquibase formatted SQL: the first line is "--liquibase formatted sql"
//     (https://docs.liquibase.com/concepts/changelogs/sql-format.html).
//   - sqitch: deploy/, revert/ and verify/ scripts named after the changes
//     listed in sqitch.plan (https://sqitch.org/docs/manual/sqitch-plan/).
var (
	gooseAnnotation = regexp.MustCompile(`(?m)^--\s*\+goose\s+(?i:up|down|statementbegin|no\s+transaction)\b`)
	dbmateDirective = regexp.MustCompile(`(?m)^--\s*migrate:(up|down)\b`)
	liquibaseHeader = regexp.MustCompile(`(?i)^--\s*liquibase\s+formatted\s+sql\b`)
)

func baseName(path string) string { return filepath.Base(filepath.FromSlash(path)) }

// detect guesses the migration framework of a file from its name and
// content. Content markers win over names: goose and dbmate files carry
// plain numeric names. Plain SQL is the fallback.
func detect(name string, src []byte) Framework {
	if liquibaseHeader.Match(firstLine(src)) {
		return FrameworkLiquibase
	}
	if bytes.Contains(src, []byte("+goose")) && gooseAnnotation.Match(src) {
		return FrameworkGoose
	}
	if bytes.Contains(src, []byte("migrate:")) && dbmateDirective.Match(src) {
		return FrameworkDbmate
	}
	switch {
	case matchGolangMigrate(name) != nil:
		return FrameworkGolangMigrate
	case matchFlyway(name) != nil, matchFlywayRepeatable(name) != nil:
		return FrameworkFlyway
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

// partFromName says which part a whole file is from its name: the
// golang-migrate .down.sql files and Flyway undo (U) migrations are down
// parts; everything else starts as up.
func partFromName(fw Framework, name string) Part {
	switch fw {
	case FrameworkGolangMigrate:
		if m := matchGolangMigrate(name); m != nil && m[2] == "down" {
			return PartDown
		}
	case FrameworkFlyway:
		if m := matchFlyway(name); m != nil && m[1] == "U" {
			return PartDown
		}
	}
	return PartUp
}

// versionFromName extracts the migration version from a file name.
func versionFromName(fw Framework, name string) string {
	switch fw {
	case FrameworkFlyway:
		if m := matchFlyway(name); m != nil {
			return strings.ReplaceAll(m[2], "_", ".")
		}
	case FrameworkGolangMigrate:
		if m := matchGolangMigrate(name); m != nil {
			return m[1]
		}
	case FrameworkGoose, FrameworkDbmate:
		if m := matchLeadingDigits(name); m != nil {
			return m[1]
		}
	}
	return ""
}

// orderKey sorts the files of one directory the way their tool runs them.
type orderKey struct {
	fw    Framework
	class int      // Flyway: 0 versioned, 1 repeatable
	parts []string // version parts, compared as numbers
	down  int      // 0 up, 1 down (golang-migrate down after its up; Flyway U after V)
	name  string
}

func keyFor(fw Framework, name string) orderKey {
	k := orderKey{fw: fw, name: name}
	switch fw {
	case FrameworkFlyway:
		if m := matchFlyway(name); m != nil {
			k.parts = strings.FieldsFunc(m[2], func(r rune) bool { return r == '.' || r == '_' })
			if m[1] == "U" {
				k.down = 1
			}
		} else {
			k.class = 1
			if m := matchFlywayRepeatable(name); m != nil {
				k.name = m[1]
			}
		}
	case FrameworkGolangMigrate:
		if m := matchGolangMigrate(name); m != nil {
			k.parts = []string{m[1]}
			if m[2] == "down" {
				k.down = 1
			}
		}
	case FrameworkGoose:
		if m := matchLeadingDigits(name); m != nil {
			k.parts = []string{m[1]}
		}
	}
	return k
}

// less orders two keys. dbmate compares whole file names as strings, as
// dbmate does; the others compare version parts as numbers, then fall
// back to a natural order of the names (digit runs compared as numbers).
func (a orderKey) less(b orderKey) bool {
	if a.fw == FrameworkDbmate && b.fw == FrameworkDbmate {
		return a.name < b.name
	}
	if a.class != b.class {
		return a.class < b.class
	}
	for i := 0; i < len(a.parts) && i < len(b.parts); i++ {
		if c := compareNumeric(a.parts[i], b.parts[i]); c != 0 {
			return c < 0
		}
	}
	if len(a.parts) != len(b.parts) {
		return len(a.parts) < len(b.parts)
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
