package checks

import (
	"sort"
	"sync"
)

// The rule catalogue is explicit: each group of rules lists its rules in
// its own registry_*.go file, and All merges them sorted by id. No init()
// registration.
var (
	allOnce  sync.Once
	allRules []*Rule
	byID     map[string]*Rule
)

// ruleGroups returns every list of rules. Add a new list here when adding a
// registry file.
func ruleGroups() [][]*Rule {
	return [][]*Rule{coreRules, lockRules, compatibilityRules, typeRules, transactionRules, measuredRules}
}

// All returns every rule, sorted by id.
func All() []*Rule {
	allOnce.Do(func() {
		byID = map[string]*Rule{}
		for _, g := range ruleGroups() {
			for _, r := range g {
				allRules = append(allRules, r)
				byID[r.ID] = r
			}
		}
		sort.Slice(allRules, func(i, j int) bool { return allRules[i].ID < allRules[j].ID })
	})
	return allRules
}

// Lookup returns the rule with the given id, or nil.
func Lookup(id string) *Rule {
	All()
	return byID[id]
}

// coreRules are produced by the engine itself rather than by a Check.
var coreRules = []*Rule{syntaxError, unusedIgnore, fileNotAnalysed, nonLinearHistory}

var syntaxError = &Rule{
	ID:       "syntax-error",
	Group:    "syntax",
	Severity: Error,
	Summary:  "A statement that PostgreSQL cannot parse.",
	Why:      "The migration fails at this statement when it is deployed; everything before it in the same transaction is rolled back, and statements that ran outside a transaction stay applied, leaving the schema half-migrated.",
	Fix:      "Correct the statement. The reviewer parses with the PostgreSQL 17 grammar (libpg_query); placeholders are substituted first (set them with --var name=value or `vars` in .pgai.yml).",
	DocsURL:  "https://www.postgresql.org/docs/current/sql-commands.html",
}

var unusedIgnore = &Rule{
	ID:       "unused-ignore",
	Group:    "style",
	Severity: Info,
	Summary:  "A pgai:ignore directive that matched no finding.",
	Why:      "An ignore that no longer matches anything hides nothing today but would silently hide a real problem if the statement changes later.",
	Fix:      "Remove the directive, or correct the rule id (`reviewer rules` lists them).",
	DocsURL:  "https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-COMMENTS",
}

var fileNotAnalysed = &Rule{
	ID:       "file-not-analysed",
	Group:    "syntax",
	Severity: Warning,
	Summary:  "A migration file that could not be analysed (too large, binary, or not UTF-8).",
	Why:      "Nothing in this file was checked, so any hazard in it goes unreviewed.",
	Fix:      "Split very large files, save SQL as UTF-8, or exclude generated data files from the migration paths (`paths` in .pgai.yml).",
	DocsURL:  "https://www.postgresql.org/docs/current/multibyte.html",
}
