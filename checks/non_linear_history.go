package checks

// nonLinearHistory is reported by the review core, which alone knows which
// migration files a change adds (from the merge request or git) and where
// they sort among the files already there: see NonLinearHistory.
var nonLinearHistory = &Rule{
	ID:       "non-linear-history",
	Group:    "transactions",
	Severity: Error,
	Summary:  "A new migration file that sorts before migrations that already exist.",
	Why: "Databases that already ran the later migrations will not run this one in order: golang-migrate only records the " +
		"highest version, so the file is silently never applied; Flyway refuses to migrate (\"Detected resolved migration " +
		"not applied to database\") unless outOfOrder is enabled; goose stops with a missing-migrations error unless run " +
		"with -allow-missing; dbmate applies it, but after the later ones, in an order no test environment ran.",
	Fix: "Rename the file so that its version sorts after every existing migration (for example a new timestamp or the next " +
		"version number), and rebase the merge request onto the target branch before merging.",
	DocsURL: "https://documentation.red-gate.com/fd/flyway-out-of-order-setting-277579014.html",
}

// NonLinearHistory returns the finding for an added migration file that
// sorts before an existing one (later is the first such existing file).
// It returns false for frameworks whose order is explicit (sqitch plan,
// Liquibase changelog) or unknown (plain SQL).
func NonLinearHistory(path, framework, later string, fail Severity) (Finding, bool) {
	r := nonLinearHistory
	sev := r.Severity
	switch framework {
	case "golang-migrate", "flyway", "goose":
	case "dbmate":
		sev = Warning // applied, but out of order
	default:
		return Finding{}, false
	}
	f := Finding{
		Rule: r.ID, Severity: sev, Path: path, Line: 1, Column: 1, EndLine: 1, EndColumn: 1,
		Message: "New migration " + path + " sorts before " + later + ", which already exists: databases that ran " + later +
			" will not apply it in order.",
		Why: r.Why, Fix: r.Fix, DocsURL: r.DocsURL,
	}
	f.Blocking = fail != 0 && f.Severity >= fail
	return fingerprintAll([]Finding{f}, []string{"non-linear-history"})[0], true
}
