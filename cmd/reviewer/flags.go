package main

import (
	"errors"
	"flag"
	"strings"
)

// parseFlags parses args into fs. When ok is false the command ends with
// code: exitOK after -h (fs printed the usage), exitError after a bad
// flag (fs printed why).
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	return flagResult(fs.Parse(args))
}

// flagResult turns a flag-parsing error into parseFlags' result.
func flagResult(err error) (code int, ok bool) {
	switch {
	case err == nil:
		return exitOK, true
	case errors.Is(err, flag.ErrHelp):
		return exitOK, false
	}
	return exitError, false
}

// parseInterspersed parses flags that may come after positional arguments
// (`reviewer check db/migrations --format json`), as users expect.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "-" || !strings.HasPrefix(rest[0], "-") {
			pos = append(pos, rest[0])
			args = rest[1:]
			continue
		}
		args = rest // "--" ended flags: the rest is positional
		if len(args) > 0 && args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
	}
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
