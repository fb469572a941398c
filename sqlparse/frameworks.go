package sqlparse

// detect guesses the migration framework of a file from its path and
// content. Plain SQL is the fallback.
func detect(path string, src []byte) Framework {
	_, _ = path, src
	return FrameworkSQL
}

// layout returns the regions of a file for its framework: which bytes are
// the up part and which the down part, and how the tool wraps them in
// transactions.
func layout(f *File, opts Options) []region {
	// Plain SQL run by psql: every statement autocommits unless the file
	// is run with --single-transaction (AssumeInTransaction).
	return []region{{part: PartUp, start: 0, end: len(f.Src), tx: opts.AssumeInTransaction}}
}
