package sqlparse

import "strings"

// The file-name patterns of the migration tools, matched by hand: a
// directory of thousands of migrations is ordered by them, and the
// regular expressions they replace (kept as the oracle in names_test.go)
// cost more than reading the directory. Each returns what
// regexp.FindStringSubmatch would: nil, or the whole name and the groups.

// matchFlyway is ^([VU])(\d+(?:[._]\d+)*)__.*\.sql$: kind and version of
// a Flyway versioned (V) or undo (U) migration.
func matchFlyway(name string) []string {
	if len(name) < 2 || (name[0] != 'V' && name[0] != 'U') || !isDigit(name[1]) {
		return nil
	}
	i := 1 + digitRun(name[1:])
	for i+1 < len(name) && (name[i] == '.' || name[i] == '_') && isDigit(name[i+1]) {
		i += 1 + digitRun(name[i+1:])
	}
	if !strings.HasPrefix(name[i:], "__") || !strings.HasSuffix(name[i+2:], ".sql") || strings.ContainsRune(name, '\n') {
		return nil
	}
	return []string{name, name[:1], name[1:i]}
}

// matchFlywayRepeatable is ^R__(.*)\.sql$: the description of a Flyway
// repeatable migration.
func matchFlywayRepeatable(name string) []string {
	rest, ok := strings.CutPrefix(name, "R__")
	if !ok || !strings.HasSuffix(rest, ".sql") || strings.ContainsRune(name, '\n') {
		return nil
	}
	return []string{name, rest[:len(rest)-len(".sql")]}
}

// matchGolangMigrate is ^(\d+)_.*\.(up|down)\.sql$: version and direction
// of a golang-migrate file.
func matchGolangMigrate(name string) []string {
	n := digitRun(name)
	if n == 0 || n >= len(name) || name[n] != '_' || strings.ContainsRune(name, '\n') {
		return nil
	}
	rest := name[n+1:]
	for _, dir := range []string{"up", "down"} {
		if strings.HasSuffix(rest, "."+dir+".sql") {
			return []string{name, name[:n], dir}
		}
	}
	return nil
}

// matchLeadingDigits is ^(\d+).
func matchLeadingDigits(name string) []string {
	n := digitRun(name)
	if n == 0 {
		return nil
	}
	return []string{name[:n], name[:n]}
}
