package kb

import (
	"testing"

	"gitlab.com/pgai/reviewer/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
