package localpg

import "gitlab.com/pgai/reviewer/dblab"

// SetNewID makes p draw clone ids from f.
func SetNewID(p *Provider, f func(dblab.CloneRequest) string) { p.newID = f }
