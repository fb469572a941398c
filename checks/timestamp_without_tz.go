package checks

import (
	"fmt"
)

var timestampWithoutTZ = &Rule{
	ID:       "timestamp-without-tz",
	Group:    "types",
	Severity: Warning,
	Summary:  "A column of type timestamp (without time zone).",
	Why: "timestamp stores a wall-clock reading with no offset: a value written as '2026-03-29 02:30+02' keeps 02:30 and drops the " +
		"+02, so the same column ends up mixing UTC and local times from different servers, sessions and drivers, and arithmetic " +
		"across a daylight-saving change is off by an hour. timestamptz stores an absolute instant (as UTC) and converts to the " +
		"session's TimeZone on output; it takes the same 8 bytes.",
	Fix: "Use timestamptz (timestamp with time zone). Changing an existing column later rewrites the table unless the session " +
		"TimeZone is UTC (see rule alter-column-type).",
	DocsURL: "https://www.postgresql.org/docs/current/datatype-datetime.html#DATATYPE-TIMEZONES",
	Check: func(p *Pass) {
		match := columnTypeIs("timestamp")
		cols := matchingColumns(p, match)
		if len(cols) == 0 {
			return
		}
		var edits []columnEdit
		for _, c := range cols {
			edits = append(edits, columnEdit{col: c, typ: "timestamptz" + typmodSuffix(c)})
		}
		safe, text := columnFixSQL(p, edits, func() string {
			return fixColumns(p, match, func(c colDef) { setColumnType(c.Col, builtinTypeName("timestamptz", c.Col.TypeName.Typmods...)) })
		})
		fix := p.Rule().Fix
		if safe != "" {
			fix = "Store instants with their offset resolved:\n\n" + Indent(safe)
		}
		p.Report(fmt.Sprintf("%s %s %s timestamp without time zone, which drops the UTC offset of the values written.", pluralize(len(cols), "Column", "Columns"), colNames(cols), pluralize(len(cols), "is", "are")), "", fix)
		if text {
			p.offerColumnFix(safe, edits)
		}
	},
}
